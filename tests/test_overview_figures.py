"""The overview's figures from what is stored: check-ins answered, requests for help
against their time limit, steps this month, progress toward the goals, per viewer."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.domain import escalation, lifecycle, overview, steps
from bot.domain.audit import Viewer
from storage.db import Database
from storage.models import (
    Checkin,
    CheckinStatus,
    EndedReason,
    EscalationCategory,
    EscalationSource,
    MessageKind,
    Participant,
    StaffRole,
    StepKind,
)
from storage.uow import UnitOfWork
from tests import factories
from tests.conftest import CountingRandomness

STOCKHOLM = ZoneInfo("Europe/Stockholm")
STAFF = Viewer(1, "eva", StaffRole.STAFF, None, "en")


def mentor_viewer(mentor_id: int) -> Viewer:
    return Viewer(2, "amina", StaffRole.MENTOR, mentor_id, "en")


async def people(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> tuple[int, int, list[int]]:
    """Amina with two participants (a woman, a man), Jonas with one (gender unknown)."""
    amina = await factories.mentor(database, clock)
    jonas = await factories.mentor(database, clock, name="Jonas Berg", telegram_user_id=7002)
    ids = []
    for n, (mentor_id, gender) in enumerate([(amina, "woman"), (amina, "man"), (jonas, None)]):
        joined = await factories.join(
            database, clock, randomness, telegram_user_id=900 + n, mentor_id=mentor_id
        )
        ids.append(joined.participant_id)
        async with UnitOfWork(database) as uow:
            participant = await uow.participants.get(joined.participant_id)
            assert participant is not None
            participant.gender = gender
            await uow.commit()
    return amina, jonas, ids


async def test_the_answer_rate_counts_answered_against_expired_check_ins_per_week(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    amina, _jonas, (sara, omar, lina) = await people(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        assert await overview.checkin_answer_rate(uow, STAFF, clock.now(), STOCKHOLM) is None
        now = clock.now()  # Monday 5 January
        for participant_id, weeks_ago, status in [
            (sara, 0, CheckinStatus.ANSWERED),
            (omar, 0, CheckinStatus.EXPIRED),
            (lina, 0, CheckinStatus.ANSWERED),
            (sara, 1, CheckinStatus.ANSWERED),
            (sara, 2, CheckinStatus.OPEN),  # still running: not counted
            (sara, 8, CheckinStatus.EXPIRED),  # before the eight weeks
        ]:
            due = now - timedelta(weeks=weeks_ago)
            uow.session.add(
                Checkin(participant_id=participant_id, due_at=due, opened_at=due, status=status)
            )
        await uow.session.flush()
        rate = await overview.checkin_answer_rate(uow, STAFF, now, STOCKHOLM)
        assert rate is not None and len(rate.weeks) == 8
        assert (rate.answered, rate.expired) == (3, 1) and rate.rate == 0.75
        assert rate.weeks[-1].week == date(2026, 1, 5)
        assert (rate.weeks[-1].answered, rate.weeks[-1].expired) == (2, 1)
        assert rate.weeks[-2].rate == 1.0 and rate.weeks[-3].rate is None
        mine = await overview.checkin_answer_rate(uow, mentor_viewer(amina), now, STOCKHOLM)
        assert mine is not None and (mine.answered, mine.expired) == (2, 1)


async def test_waiting_requests_are_counted_per_topic_with_those_past_the_time_limit(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    _amina, jonas, (sara, omar, lina) = await people(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        for participant_id, category, urgent in [
            (sara, EscalationCategory.VIOLENCE, True),
            (omar, EscalationCategory.HOUSING, False),
            (lina, EscalationCategory.HOUSING, False),
        ]:
            participant = await uow.participants.get(participant_id)
            assert isinstance(participant, Participant)
            case = await escalation.open_case(
                uow,
                participant=participant,
                category=category,
                urgent=urgent,
                terms=[],
                source=EscalationSource.TEXT,
                now=clock.now(),
            )
            await escalation.add_participant_message(
                uow, case, escalation.Incoming(MessageKind.TEXT, text="hjälp"), clock.now()
            )
            if urgent:
                await escalation.route(uow, case, participant, clock.now(), STOCKHOLM)
            await escalation.share(uow, case, participant, clock.now(), STOCKHOLM)
        later = clock.now() + timedelta(minutes=30)
        requests = await overview.open_requests(uow, STAFF, later, STOCKHOLM)
        assert (requests.waiting, requests.overdue, requests.claimed) == (3, 1, 0)
        by_topic = {line.category: line for line in requests.categories}
        assert by_topic[EscalationCategory.VIOLENCE].overdue == 1
        assert by_topic[EscalationCategory.VIOLENCE].oldest_waiting == timedelta(minutes=30)
        assert by_topic[EscalationCategory.HOUSING].waiting == 2
        assert by_topic[EscalationCategory.HOUSING].overdue == 0  # until 09:00 next working day
        mine = await overview.open_requests(uow, mentor_viewer(jonas), later, STOCKHOLM)
        assert (mine.waiting, mine.overdue) == (1, 0)


async def test_steps_this_month_and_progress_toward_the_goals_by_gender(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    amina, _jonas, (sara, omar, lina) = await people(database, clock, randomness)
    clock.advance(timedelta(days=10))
    async with UnitOfWork(database) as uow:
        now = clock.now()
        for participant_id, kind, taken_on in [
            (sara, StepKind.INTERNSHIP, date(2026, 1, 12)),
            (sara, StepKind.COURSE, date(2026, 1, 14)),
            (lina, StepKind.JOB_SEARCH, date(2025, 12, 30)),  # last month
        ]:
            participant = await uow.participants.get(participant_id)
            assert participant is not None
            await steps.record_by_mentor(
                uow,
                participant=participant,
                mentor_id=amina,
                kind=kind,
                taken_on=taken_on,
                now=now,
            )
        leaving = await uow.participants.get(omar)
        assert leaving is not None
        await lifecycle.leave(
            uow,
            leaving,
            EndedReason.WORK,
            by=lifecycle.ChangedBy.participant(),
            now=now,
            rhythm=None,
        )
        await uow.session.flush()

        month = await overview.steps_this_month(uow, STAFF, now, STOCKHOLM)
        # Omar's leaving for work is a step too.
        assert month.total == 3 and month.participants == 2
        assert dict(month.by_kind) == {
            StepKind.COURSE: 1,
            StepKind.INTERNSHIP: 1,
            StepKind.LEFT_FOR_WORK: 1,
        }

        goals = await overview.goals(uow, STAFF, now, STOCKHOLM)
        assert goals is not None
        assert (goals.total.participants, goals.total.with_step) == (3, 3)
        assert (goals.total.left, goals.total.left_for_work_or_studies) == (1, 1)
        by_gender = {line.gender: line for line in goals.by_gender}
        assert set(by_gender) == {"woman", "man"}  # Lina's gender is not recorded
        assert by_gender["man"].work_or_studies_share == 1.0
        assert by_gender["woman"].left == 0 and by_gender["woman"].work_or_studies_share is None

        mine = await overview.goals(uow, mentor_viewer(amina), now, STOCKHOLM)
        assert mine is not None and mine.total.participants == 2
