"""The lifecycle: every status change is checked, kept with who and when, and has its effects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain import lifecycle
from bot.domain.lifecycle import ChangedBy, LifecycleError
from storage.db import Database
from storage.models import (
    ActorKind,
    EndedReason,
    FollowUpQuestion,
    FollowUpStatus,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    ParticipantStatus,
)
from storage.uow import UnitOfWork
from tests import journey_support as seed


async def test_each_change_is_kept_with_who_made_it_and_when(
    database: Database, clock: ManualClock
) -> None:
    mentor_id = await seed.mentor(database, "Amina Haddad", ["sv", "ar"], clock.now())
    pid = await seed.participant(database, clock.now(), mentor_id=mentor_id)
    joined_at = clock.now()
    clock.advance(timedelta(days=40))
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        mentor = await uow.mentors.get(mentor_id)
        assert participant is not None and mentor is not None
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.STUDIES,
            by=ChangedBy.mentor(mentor),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    clock.advance(timedelta(days=10))
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.OWN_WISH,
            by=ChangedBy.participant(),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    async with UnitOfWork(database) as uow:
        events = await lifecycle.history(uow, pid)
        participant = await uow.participants.get(pid)
        assert [(e.from_status, e.to_status, e.reason, e.actor, e.mentor_id) for e in events] == [
            (None, ParticipantStatus.ACTIVE, None, ActorKind.SYSTEM, None),
            (
                ParticipantStatus.ACTIVE,
                ParticipantStatus.FOLLOW_UP,
                "studies",
                ActorKind.MENTOR,
                mentor_id,
            ),
            (
                ParticipantStatus.FOLLOW_UP,
                ParticipantStatus.ENDED,
                "own_wish",
                ActorKind.PARTICIPANT,
                None,
            ),
        ]
        assert [e.occurred_at for e in events] == [
            joined_at,
            joined_at + timedelta(days=40),
            joined_at + timedelta(days=50),
        ]
        # The reason they left the active phase stays: they left for studies.
        assert participant is not None
        assert (participant.status, participant.ended_reason) == (
            ParticipantStatus.ENDED,
            "studies",
        )


@pytest.mark.parametrize(
    ("start", "to", "reason", "message"),
    [
        (ParticipantStatus.ENDED, ParticipantStatus.ENDED, EndedReason.MOVED, "cannot move"),
        (ParticipantStatus.ACTIVE, ParticipantStatus.ENDED, None, "needs a reason"),
        (
            ParticipantStatus.ACTIVE,
            ParticipantStatus.FOLLOW_UP,
            EndedReason.MOVED,
            "work or studies",
        ),
        (ParticipantStatus.ACTIVE, ParticipantStatus.ENDED, EndedReason.DECLINED, "application"),
        (ParticipantStatus.FOLLOW_UP, ParticipantStatus.APPLIED, None, "cannot move"),
        (ParticipantStatus.ACTIVE, ParticipantStatus.ACTIVE, None, "cannot move"),
    ],
)
async def test_a_change_that_makes_no_sense_is_refused_and_nothing_is_kept(
    database: Database,
    clock: ManualClock,
    start: ParticipantStatus,
    to: ParticipantStatus,
    reason: EndedReason | None,
    message: str,
) -> None:
    pid = await seed.participant(database, clock.now(), status=start)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        before = len(await lifecycle.history(uow, pid))
        with pytest.raises(LifecycleError, match=message):
            await lifecycle.change_status(
                uow,
                participant,
                to,
                reason=reason,
                by=ChangedBy.system(),
                now=clock.now(),
                rhythm=None,
            )
        assert len(await lifecycle.history(uow, pid)) == before


async def test_leaving_for_work_schedules_questions_at_three_and_six_months(
    database: Database, clock: ManualClock
) -> None:
    pid = await seed.participant(database, clock.now())
    clock.set(clock.now().replace(month=1, day=31, hour=20))
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.WORK,
            by=ChangedBy.staff("Eva"),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    async with database.session() as session:
        questions = (await session.scalars(select(FollowUpQuestion))).all()
    assert sorted((q.months, q.due_at.date().isoformat(), q.status) for q in questions) == [
        (3, "2026-04-30", FollowUpStatus.SCHEDULED),
        (6, "2026-07-31", FollowUpStatus.SCHEDULED),
    ]


async def test_ending_cancels_follow_up_questions_and_queued_reminders_but_not_replies(
    database: Database, clock: ManualClock
) -> None:
    pid = await seed.participant(database, clock.now(), status=ParticipantStatus.FOLLOW_UP)
    async with UnitOfWork(database) as uow:
        for index, kind in enumerate([OutboxKind.REMINDER, OutboxKind.CAMPAIGN, OutboxKind.REPLY]):
            await uow.outbox.add(
                chat_id=1,
                payload={"method": "sendMessage", "text": "x"},
                key=f"k{index}",
                kind=kind,
                due_at=clock.now() + timedelta(days=1),
                now=clock.now(),
                participant_id=pid,
            )
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.OWN_WISH,
            by=ChangedBy.participant(),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    async with database.session() as session:
        questions = (await session.scalars(select(FollowUpQuestion))).all()
        outbox = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert {q.status for q in questions} == {FollowUpStatus.CANCELLED}
    assert [(m.kind, m.status) for m in outbox] == [
        (OutboxKind.REMINDER, OutboxStatus.DEAD),
        (OutboxKind.CAMPAIGN, OutboxStatus.DEAD),
        (OutboxKind.REPLY, OutboxStatus.PENDING),
    ]


async def test_only_people_in_the_project_get_check_ins_and_reminders(
    database: Database, clock: ManualClock
) -> None:
    expected = {
        ParticipantStatus.ACTIVE: True,
        ParticipantStatus.FOLLOW_UP: True,
        ParticipantStatus.ENDED: False,
    }
    for status, receives in expected.items():
        participant = await seed.get_participant(
            database, await seed.participant(database, clock.now(), status=status)
        )
        assert lifecycle.receives_checkins(participant) is receives
        assert lifecycle.receives_reminders(participant) is receives


async def test_a_mentor_acts_on_their_own_participants_and_a_coordinator_on_all(
    database: Database, clock: ManualClock
) -> None:
    own = await seed.mentor(database, "Amina Haddad", ["ar"], clock.now())
    other = await seed.mentor(database, "Jonas Berg", ["sv"], clock.now())
    boss = await seed.mentor(database, "Eva Lind", ["sv"], clock.now(), is_coordinator=True)
    participant = await seed.get_participant(
        database, await seed.participant(database, clock.now(), mentor_id=own)
    )
    assert lifecycle.may_act_on(await seed.get_mentor(database, own), participant)
    assert not lifecycle.may_act_on(await seed.get_mentor(database, other), participant)
    assert lifecycle.may_act_on(await seed.get_mentor(database, boss), participant)


async def test_follow_up_makes_check_ins_monthly_and_coming_back_makes_them_weekly_again(
    database: Database, clock: ManualClock
) -> None:
    from bot.config import load_settings
    from bot.domain import checkin
    from storage.models import Cadence, ScheduleKind, Step, StepKind
    from storage.models.progress import Schedules

    rhythm = lifecycle.Rhythm.from_settings(load_settings())
    pid = await seed.participant(database, clock.now())
    clock.advance(timedelta(days=2))  # Wednesday 7 January

    async def cadence() -> tuple[Cadence, object]:
        async with UnitOfWork(database) as uow:
            schedule = await uow.repository(Schedules).get(pid, ScheduleKind.CHECKIN)
            assert schedule is not None
            return checkin.choice_of(schedule.spec).cadence, schedule.next_due_at

    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.WORK,
            by=ChangedBy.system(),
            now=clock.now(),
            rhythm=rhythm,
        )
        await uow.commit()
    monthly, first = await cadence()
    # Left on Wednesday 7 January: the next check-in is on the first Monday of February.
    assert monthly is Cadence.MONTHLY and str(first) == "2026-02-02 09:00:00+00:00"
    clock.advance(timedelta(days=60))
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.resume(
            uow, participant, by=ChangedBy.system(), now=clock.now(), rhythm=rhythm
        )
        await uow.commit()
    weekly, _ = await cadence()
    assert weekly is Cadence.WEEKLY
    async with database.session() as session:
        steps = (await session.scalars(select(Step))).all()
        # Leaving for work is a step forward, recorded once.
        assert [step.kind for step in steps] == [StepKind.LEFT_FOR_WORK]
        questions = (await session.scalars(select(FollowUpQuestion))).all()
        assert {q.status for q in questions} == {FollowUpStatus.CANCELLED}


async def test_participants_from_before_the_journey_get_their_first_status_as_an_event(
    database: Database,
) -> None:
    from sqlalchemy import text

    from storage import migrate

    await migrate.downgrade(database, "0001")
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO participant (public_id, locale, status, joined_at) "
                "VALUES ('POLD1', 'sv', 'active', '2025-11-03 09:00:00')"
            )
        )
    await migrate.upgrade(database)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.by_public_id("POLD1")
        assert participant is not None
        (event,) = await lifecycle.history(uow, participant.id)
        assert (event.from_status, event.to_status, event.actor) == (
            None,
            ParticipantStatus.ACTIVE,
            ActorKind.SYSTEM,
        )
        assert event.occurred_at == participant.joined_at
