"""Check-ins over time, driven by a manual clock: the real periodic job against the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain import checkin as domain
from bot.flows.checkin import CheckinJob
from bot.turn import Deps
from storage.db import Database
from storage.models import (
    Cadence,
    CheckinStatus,
    Conversation,
    FlagKind,
    OutboxKind,
    OutboxMessage,
    ParticipantFlag,
    ParticipantSchedule,
    ParticipantStatus,
    ScheduleKind,
    Step,
    StepKind,
)
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness
from tests.factories import checkins, deps, join, mentor, outbox, update_participant

STOCKHOLM = ZoneInfo("Europe/Stockholm")
POLICY = domain.CheckinPolicy()


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


@pytest.fixture
def bot_deps(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> Deps:
    return deps(database, clock, randomness, tmp_path)


async def choose(
    database: Database, clock: ManualClock, participant_id: int, weekday: int, at: time
) -> None:
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(participant_id)
        assert participant is not None
        await domain.change_day_and_time(
            uow, participant, weekday, at, clock.now(), STOCKHOLM, POLICY
        )
        await uow.commit()


async def flags(database: Database) -> list[ParticipantFlag]:
    async with database.session() as session:
        return list((await session.scalars(select(ParticipantFlag))).all())


def keys(rows: list[OutboxMessage], prefix: str) -> list[str]:
    return [row.idempotency_key for row in rows if row.idempotency_key.startswith(prefix)]


async def test_the_checkin_comes_at_the_chosen_local_time_on_both_sides_of_summer_time(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    clock.set(local(2026, 3, 20, 12))  # a Friday; summer time begins Sunday 29 March
    sara = await join(database, clock, randomness, telegram_user_id=501)
    job = CheckinJob()
    await job(bot_deps)  # gives Sara her schedules
    await choose(database, clock, sara.participant_id, 1, time(14, 0))  # Tuesdays at 14:00

    clock.set(local(2026, 3, 24, 13, 59))
    await job(bot_deps)
    assert await checkins(database) == []

    clock.set(local(2026, 3, 24, 14, 0))
    await job(bot_deps)
    (first,) = await checkins(database)
    assert first.due_at == datetime(2026, 3, 24, 13, 0, tzinfo=UTC)  # 14:00 winter time

    clock.set(local(2026, 3, 31, 13, 59))
    await job(bot_deps)
    assert len(await checkins(database)) == 1

    clock.set(local(2026, 3, 31, 14, 0))
    await job(bot_deps)
    second = (await checkins(database))[1]
    assert second.due_at == datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # 14:00 summer time
    assert {row.due_at.astimezone(STOCKHOLM).hour for row in (first, second)} == {14}

    sent = await outbox(database, OutboxKind.CHECKIN)
    opened = [row for row in sent if row.idempotency_key.startswith("checkin:")]
    assert [row.due_at for row in opened] == [first.due_at, second.due_at]
    assert all(row.chat_id == 501 and row.participant_id == sara.participant_id for row in opened)
    assert "Dags för din avstämning" in opened[0].payload["text"]
    assert len(opened[0].payload["reply_markup"]["inline_keyboard"]) == 5


async def test_one_gentle_nudge_then_the_checkin_closes_and_still_counts(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=502)
    job = CheckinJob()
    await job(bot_deps)
    due = local(2026, 1, 12, 10)  # the first Monday 10:00 after joining
    clock.set(due)
    await job(bot_deps)

    clock.set(due + timedelta(hours=23, minutes=59))
    await job(bot_deps)
    assert keys(await outbox(database), "checkin-nudge:") == []

    clock.set(due + timedelta(hours=24))
    await job(bot_deps)
    await job(bot_deps)
    clock.set(due + timedelta(hours=30))
    await job(bot_deps)
    nudges = [r for r in await outbox(database) if r.idempotency_key.startswith("checkin-nudge:")]
    assert len(nudges) == 1
    assert "påminnelse" in nudges[0].payload["text"]
    (checkin,) = await checkins(database)
    assert checkin.status is CheckinStatus.OPEN and checkin.nudged_at == due + timedelta(hours=24)

    clock.set(due + timedelta(hours=71, minutes=59))
    await job(bot_deps)
    assert (await checkins(database))[0].status is CheckinStatus.OPEN
    clock.set(due + timedelta(hours=72))
    await job(bot_deps)
    (checkin,) = await checkins(database)
    assert checkin.status is CheckinStatus.EXPIRED and checkin.expired_at == clock.now()
    assert checkin.nudge_due_at is None and checkin.expire_due_at is None

    async with UnitOfWork(database) as uow:
        counts = await domain.checkin_counts(uow, [sara.participant_id], due - timedelta(days=1))
    assert (counts.answered, counts.expired, counts.closed) == (0, 1, 1)


async def test_an_answered_checkin_gets_no_nudge_and_does_not_expire(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=503)
    job = CheckinJob()
    await job(bot_deps)
    clock.set(local(2026, 1, 12, 10))
    await job(bot_deps)
    (checkin,) = await checkins(database)
    async with UnitOfWork(database) as uow:
        open_ = await domain.own_checkin(uow, sara.participant_id, checkin.id)
        assert open_ is not None
        await domain.answer_mood(uow, open_, 4, clock.now())
        domain.toggle_activity(open_, "apply")
        await domain.finish_activities(uow, open_, clock.now(), STOCKHOLM)
        domain.answer_help(open_, False, clock.now())
        await uow.commit()
    clock.advance(timedelta(days=4))
    await job(bot_deps)
    (checkin,) = await checkins(database)
    assert checkin.status is CheckinStatus.ANSWERED
    assert (checkin.mood, checkin.activities, checkin.wants_help) == (4, ["apply"], False)
    assert keys(await outbox(database), "checkin-nudge:") == []
    async with UnitOfWork(database) as uow:
        since = clock.now() - timedelta(days=7)
        counts = await domain.checkin_counts(uow, [sara.participant_id], since)
    assert (counts.answered, counts.expired) == (1, 0)


async def test_a_nudge_that_would_come_at_night_waits_for_the_morning(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> None:
    night_deps = deps(database, clock, randomness, tmp_path, checkin_nudge_after_hours=5)
    sara = await join(database, clock, randomness, telegram_user_id=504)
    job = CheckinJob()
    await job(night_deps)
    await choose(database, clock, sara.participant_id, 0, time(18, 0))
    clock.set(local(2026, 1, 12, 18))
    await job(night_deps)
    (checkin,) = await checkins(database)
    assert checkin.nudge_due_at == local(2026, 1, 13, 8)  # not 23:00


async def test_two_hard_weeks_in_a_row_raise_one_flag_and_tell_the_mentor(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    from bot.flows.checkin import tell_mentor_of_flag

    mentor_id = await mentor(database, clock, telegram_user_id=7001)
    sara = await join(database, clock, randomness, telegram_user_id=505, mentor_id=mentor_id)
    job = CheckinJob()
    await job(bot_deps)
    raised = []
    for week, mood in enumerate((2, 3, 1, 2, 1)):
        clock.set(local(2026, 1, 12, 10) + timedelta(weeks=week))
        await job(bot_deps)
        checkin = (await checkins(database))[-1]
        async with UnitOfWork(database) as uow:
            open_ = await domain.own_checkin(uow, sara.participant_id, checkin.id)
            assert open_ is not None
            flag = await domain.answer_mood(uow, open_, mood, clock.now())
            if flag is not None:
                participant = await uow.participants.get(sara.participant_id)
                assert participant is not None
                await tell_mentor_of_flag(uow, bot_deps, participant, flag.id, flag.kind)
                raised.append(week)
            await uow.commit()
    # 2 then 3: no; 3 then 1: no; 1 then 2: yes; 2 then 1: the flag is still open.
    assert raised == [3]
    (flag,) = await flags(database)
    assert flag.kind is FlagKind.LOW_MOOD and flag.resolved_at is None
    (notice,) = await outbox(database, OutboxKind.NOTIFICATION)
    assert notice.chat_id == 7001 and sara.public_id in notice.payload["text"]
    assert "två avstämningar i rad" in notice.payload["text"]

    async with UnitOfWork(database) as uow:
        from bot.domain.caseload import resolve_flags

        assert await resolve_flags(uow, sara.participant_id, mentor_id, clock.now()) == 1
        await uow.commit()
    clock.set(local(2026, 1, 12, 10) + timedelta(weeks=5))
    await job(bot_deps)
    checkin = (await checkins(database))[-1]
    async with UnitOfWork(database) as uow:
        open_ = await domain.own_checkin(uow, sara.participant_id, checkin.id)
        assert open_ is not None
        assert await domain.answer_mood(uow, open_, 2, clock.now()) is not None
        await uow.commit()


async def test_two_checkins_in_a_row_without_any_answer_tell_the_mentor(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    mentor_id = await mentor(database, clock, telegram_user_id=7002)
    sara = await join(database, clock, randomness, telegram_user_id=506, mentor_id=mentor_id)
    job = CheckinJob()
    await job(bot_deps)
    for week in range(3):
        clock.set(local(2026, 1, 12, 10) + timedelta(weeks=week))
        await job(bot_deps)
        clock.advance(timedelta(days=3))
        await job(bot_deps)
    assert [c.status for c in await checkins(database)] == [CheckinStatus.EXPIRED] * 3
    (flag,) = await flags(database)
    assert flag.kind is FlagKind.NO_ANSWER
    (notice,) = await outbox(database, OutboxKind.NOTIFICATION)
    assert notice.chat_id == 7002 and sara.public_id in notice.payload["text"]


async def test_paused_unreachable_and_ended_participants_get_no_checkin(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    paused = await join(database, clock, randomness, telegram_user_id=507)
    unreachable = await join(database, clock, randomness, telegram_user_id=508)
    ended = await join(database, clock, randomness, telegram_user_id=509)
    active = await join(database, clock, randomness, telegram_user_id=510)
    job = CheckinJob()
    await job(bot_deps)
    await update_participant(database, paused.participant_id, reminders_paused_at=clock.now())
    await update_participant(database, unreachable.participant_id, unreachable_at=clock.now())
    await update_participant(database, ended.participant_id, status=ParticipantStatus.ENDED)

    clock.set(local(2026, 1, 12, 10))
    await job(bot_deps)
    assert [c.participant_id for c in await checkins(database)] == [active.participant_id]
    async with database.session() as session:
        schedules = {
            s.participant_id: s.next_due_at
            for s in await session.scalars(
                select(ParticipantSchedule).where(ParticipantSchedule.kind == ScheduleKind.CHECKIN)
            )
        }
    assert schedules[paused.participant_id] == local(2026, 1, 19, 10)  # moves on, comes back
    assert schedules[unreachable.participant_id] == local(2026, 1, 19, 10)
    assert schedules[ended.participant_id] is None  # for good

    await update_participant(database, paused.participant_id, reminders_paused_at=None)
    clock.set(local(2026, 1, 19, 10))
    await job(bot_deps)
    assert paused.participant_id in {c.participant_id for c in await checkins(database)}


async def test_a_checkin_missed_while_the_bot_was_down_is_not_sent_late(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    await join(database, clock, randomness, telegram_user_id=511)
    job = CheckinJob()
    await job(bot_deps)
    clock.set(local(2026, 1, 15, 12))  # Thursday: Monday's check-in is three days old
    await job(bot_deps)
    assert await checkins(database) == []
    clock.set(local(2026, 1, 19, 10))
    await job(bot_deps)
    assert len(await checkins(database)) == 1


async def test_running_the_job_twice_opens_a_checkin_once(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    await join(database, clock, randomness, telegram_user_id=512)
    await CheckinJob()(bot_deps)
    clock.set(local(2026, 1, 12, 10))
    await CheckinJob()(bot_deps)
    await CheckinJob()(bot_deps)
    assert len(await checkins(database)) == 1
    assert len(keys(await outbox(database), "checkin:")) == 1


async def test_the_next_checkin_takes_over_from_a_closed_one_but_not_from_another_flow(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    await join(database, clock, randomness, telegram_user_id=520)
    job = CheckinJob()
    await job(bot_deps)
    clock.set(local(2026, 1, 12, 10))
    await job(bot_deps)
    clock.set(local(2026, 1, 19, 10))  # last week's closed on Thursday; a new one opens
    await job(bot_deps)
    first, second = await checkins(database)
    assert first.status is CheckinStatus.EXPIRED and second.status is CheckinStatus.OPEN
    async with database.session() as session:
        conversation = await session.get(Conversation, 520)
    assert conversation is not None and conversation.data == {"checkin": second.id}


async def test_the_job_leaves_a_participant_who_is_busy_in_another_flow_where_they_are(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    await join(database, clock, randomness, telegram_user_id=513)
    await join(database, clock, randomness, telegram_user_id=514, name="Omar")
    await CheckinJob()(bot_deps)
    async with UnitOfWork(database) as uow:
        await uow.conversations.set(
            514, flow="sr", step="answering", now=clock.now(), data={"selfrating": 9}
        )
        await uow.commit()
    clock.set(local(2026, 1, 12, 10))
    await CheckinJob()(bot_deps)
    async with database.session() as session:
        idle = await session.get(Conversation, 513)
        busy = await session.get(Conversation, 514)
    assert idle is not None and (idle.flow, idle.step) == ("ci", "mood")
    assert busy is not None and (busy.flow, busy.data) == ("sr", {"selfrating": 9})


async def test_participants_who_join_later_get_a_schedule_at_the_next_tick(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    job = CheckinJob()
    first = await join(database, clock, randomness, telegram_user_id=515)
    await job(bot_deps)
    later = await join(database, clock, randomness, telegram_user_id=516)
    await job(bot_deps)
    async with database.session() as session:
        rows = (await session.scalars(select(ParticipantSchedule))).all()
    kinds = {(row.participant_id, row.kind) for row in rows}
    assert kinds == {
        (first.participant_id, ScheduleKind.CHECKIN),
        (first.participant_id, ScheduleKind.SELFRATING),
        (later.participant_id, ScheduleKind.CHECKIN),
        (later.participant_id, ScheduleKind.SELFRATING),
    }
    assert job.scheduled_up_to == later.participant_id


def test_every_other_week_stays_fourteen_days_apart_over_a_53_week_new_year() -> None:
    spec = domain.checkin_spec(Cadence.FORTNIGHTLY, 0, time(10, 0), date(2026, 12, 14))
    moment = local(2026, 12, 1, 0)
    seen = []
    for _ in range(4):
        found = domain.next_due(spec, STOCKHOLM, moment)
        assert found is not None
        seen.append(found.astimezone(STOCKHOLM))
        moment = found
    assert [day.date() for day in seen] == [
        date(2026, 12, 14),
        date(2026, 12, 28),
        date(2027, 1, 11),
        date(2027, 1, 25),
    ]
    assert {day.hour for day in seen} == {10}


def test_once_a_month_is_the_first_chosen_weekday_of_the_month() -> None:
    spec = domain.checkin_spec(Cadence.MONTHLY, 2, time(12, 0))
    found = domain.next_due(spec, STOCKHOLM, local(2026, 2, 5, 0))
    assert found == local(2026, 3, 4, 12)


async def test_a_mentor_changes_the_cadence_and_the_participants_time_stays(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=517)
    await choose(database, clock, sara.participant_id, 3, time(16, 0))
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(sara.participant_id)
        assert participant is not None
        schedule = await domain.change_cadence(
            uow, participant, Cadence.MONTHLY, clock.now(), STOCKHOLM, POLICY
        )
        await uow.commit()
    assert domain.choice_of(schedule.spec) == domain.ScheduleChoice(Cadence.MONTHLY, 3, time(16, 0))
    assert schedule.next_due_at == local(2026, 2, 5, 16)  # the first Thursday of February


async def test_steps_are_starts_not_habits(
    database: Database, clock: ManualClock, randomness: CountingRandomness, bot_deps: Deps
) -> None:
    sara = await join(database, clock, randomness, telegram_user_id=518)
    job = CheckinJob()
    await job(bot_deps)
    weeks = [
        ("course", "apply"),
        ("course", "apply"),
        ("nothing",),
        ("apply", "authority"),
        ("course", "apply"),
    ]
    recorded: list[list[StepKind]] = []
    for week, activities in enumerate(weeks):
        clock.set(local(2026, 1, 12, 10) + timedelta(weeks=week))
        await job(bot_deps)
        checkin = (await checkins(database))[-1]
        async with UnitOfWork(database) as uow:
            open_ = await domain.own_checkin(uow, sara.participant_id, checkin.id)
            assert open_ is not None
            await domain.answer_mood(uow, open_, 3, clock.now())
            for activity in activities:
                domain.toggle_activity(open_, activity)
            steps = await domain.finish_activities(uow, open_, clock.now(), STOCKHOLM)
            domain.answer_help(open_, False, clock.now())
            recorded.append([step.kind for step in steps])
            await uow.commit()
    assert recorded == [
        [StepKind.COURSE],  # the first course is a start
        [],  # the same course goes on
        [],
        [StepKind.CONTACT, StepKind.JOB_SEARCH],  # applications in three of four weeks
        [],  # the course after a break is the same course (within 90 days)
    ]
    async with database.session() as session:
        stored = (await session.scalars(select(Step).order_by(Step.id))).all()
    assert (stored[0].taken_on, stored[0].checkin_id is not None) == (date(2026, 1, 12), True)


def test_nothing_this_week_and_the_other_choices_exclude_each_other() -> None:
    from storage.models import Checkin

    checkin = Checkin(activities=[])
    domain.toggle_activity(checkin, "apply")
    domain.toggle_activity(checkin, "course")
    assert checkin.activities == ["apply", "course"]
    domain.toggle_activity(checkin, "nothing")
    assert checkin.activities == ["nothing"]
    domain.toggle_activity(checkin, "other")
    assert checkin.activities == ["other"]
    domain.toggle_activity(checkin, "other")
    assert checkin.activities == []
    with pytest.raises(ValueError):
        domain.toggle_activity(checkin, "fika")
