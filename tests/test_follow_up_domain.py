"""The questions after work or studies, without Telegram: asked once, when due, to the
right people; answers stored; nothing for someone who ended or cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain import follow_up, lifecycle
from bot.domain.lifecycle import ChangedBy
from storage.db import Database
from storage.models import (
    EndedReason,
    FollowUpAnswer,
    FollowUpQuestion,
    FollowUpStatus,
    Participant,
)
from storage.uow import UnitOfWork
from tests import journey_support as seed


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 11, 30, 9, tzinfo=UTC), 3, datetime(2027, 2, 28, 9, tzinfo=UTC)),
        (datetime(2027, 11, 30, 9, tzinfo=UTC), 3, datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 8, 15, 9, tzinfo=UTC), 6, datetime(2027, 2, 15, 9, tzinfo=UTC)),
    ],
)
def test_months_are_counted_on_the_calendar(
    start: datetime, months: int, expected: datetime
) -> None:
    assert follow_up.add_months(start, months) == expected


async def in_follow_up(database: Database, clock: ManualClock) -> int:
    pid = await seed.participant(database, clock.now())
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        await lifecycle.leave(
            uow, participant, EndedReason.WORK, by=ChangedBy.system(), now=clock.now(), rhythm=None
        )
        await uow.commit()
    return pid


async def test_a_question_is_asked_once_when_due_and_its_answer_kept(
    database: Database, clock: ManualClock
) -> None:
    pid = await in_follow_up(database, clock)
    async with UnitOfWork(database) as uow:
        assert (await follow_up.due_questions(uow, clock.now() + timedelta(days=89))).asked == []
    later = clock.now() + timedelta(days=90)
    async with UnitOfWork(database) as uow:
        (due,) = (await follow_up.due_questions(uow, later)).asked
        await uow.commit()
    assert due.question.months == 3 and due.participant.id == pid
    async with UnitOfWork(database) as uow:
        assert (await follow_up.due_questions(uow, later)).asked == []
        participant = await uow.participants.get(pid)
        assert participant is not None
        answered = await follow_up.answer(
            uow, participant, due.question.id, FollowUpAnswer.STUDIES, later
        )
        assert answered is not None and answered.answer is FollowUpAnswer.STUDIES
        # Pressing again, or answering the 6-month question before it is asked, does nothing.
        again = await follow_up.answer(
            uow, participant, due.question.id, FollowUpAnswer.WORK, later
        )
        assert again is None
        six = next(q for q in await follow_up.of_participant(uow, pid) if q.months == 6)
        assert await follow_up.answer(uow, participant, six.id, FollowUpAnswer.WORK, later) is None
        await uow.commit()


async def test_someone_else_cannot_answer_a_question(
    database: Database, clock: ManualClock
) -> None:
    await in_follow_up(database, clock)
    other_id = await seed.participant(database, clock.now())
    later = clock.now() + timedelta(days=92)
    async with UnitOfWork(database) as uow:
        (due,) = (await follow_up.due_questions(uow, later)).asked
        other = await uow.participants.get(other_id)
        assert other is not None
        assert (
            await follow_up.answer(uow, other, due.question.id, FollowUpAnswer.WORK, later) is None
        )


async def test_questions_for_someone_who_came_back_or_blocked_the_bot_are_not_asked(
    database: Database, clock: ManualClock
) -> None:
    came_back = await in_follow_up(database, clock)
    blocked = await in_follow_up(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(came_back)
        assert participant is not None
        await lifecycle.resume(
            uow, participant, by=ChangedBy.system(), now=clock.now(), rhythm=None
        )
        unreachable = await uow.participants.get(blocked)
        assert unreachable is not None
        unreachable.unreachable_at = clock.now()
        await uow.commit()
    later = clock.now() + timedelta(days=92)
    async with UnitOfWork(database) as uow:
        assert (await follow_up.due_questions(uow, later)).asked == []
        await uow.commit()
    async with database.session() as session:
        rows = (await session.scalars(select(FollowUpQuestion))).all()
        by_person = {(q.participant_id, q.months): (q.status, q.due_at) for q in rows}
    assert {s for (p, _m), (s, _d) in by_person.items() if p == came_back} == {
        FollowUpStatus.CANCELLED
    }
    # The one who blocked the bot is tried again a week later.
    status, due_at = by_person[(blocked, 3)]
    assert status is FollowUpStatus.SCHEDULED and due_at == later + timedelta(days=7)
    async with database.session() as session:
        person = await session.get(Participant, blocked)
        assert person is not None and person.unreachable_at is not None


async def test_the_job_asks_every_due_question_in_batches_and_none_at_night(
    database: Database, clock: ManualClock, tmp_path: object
) -> None:
    from bot.config import load_settings
    from bot.flows.follow_up import ask_due_questions
    from bot.flows.registry import FlowRegistry
    from bot.turn import Deps
    from storage.models import OutboxMessage
    from tests.conftest import CountingRandomness

    for _ in range(5):
        await in_follow_up(database, clock)
    deps = Deps(
        settings=load_settings(),
        database=database,
        clock=clock,
        randomness=CountingRandomness(),
        registry=FlowRegistry(),
    )
    # 3 months on, at 23:00 in Stockholm: quiet hours, nothing is sent.
    clock.set(datetime(2026, 4, 5, 22, 0, tzinfo=UTC))
    assert await ask_due_questions(deps, batch=2) == 0
    clock.set(datetime(2026, 4, 6, 7, 0, tzinfo=UTC))  # 09:00
    assert await ask_due_questions(deps, batch=2) == 5
    assert await ask_due_questions(deps, batch=2) == 0
    async with database.session() as session:
        sent = (await session.scalars(select(OutboxMessage))).all()
        assert len(sent) == 5
        assert {m.idempotency_key.split(":")[0] for m in sent} == {"followup"}
