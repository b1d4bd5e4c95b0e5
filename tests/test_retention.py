"""The retention rule: words are purged a year after someone leaves; message texts after
a month; nothing of those still taking part is touched."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text

from bot.clock import ManualClock
from bot.domain.lifecycle import ChangedBy, change_status
from bot.jobs import run_retention
from storage.db import Database
from storage.models import (
    Checkin,
    EndedReason,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Step,
    StepKind,
    StepSource,
)
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness
from tests.factories import deps, join, mentor

LEFT_LONG_AGO = timedelta(days=400)
LEFT_RECENTLY = timedelta(days=300)


async def with_words(database: Database, clock: ManualClock, participant_id: int) -> None:
    now = clock.now()
    async with database.session() as session, session.begin():
        session.add(
            Checkin(participant_id=participant_id, due_at=now, opened_at=now, note="ont i ryggen")
        )
        session.add(
            Step(
                participant_id=participant_id,
                kind=StepKind.COURSE,
                taken_on=date(2025, 3, 1),
                source=StepSource.MENTOR,
                note="SFI kväll",
                recorded_at=now,
            )
        )
        session.add(
            OutboxMessage(
                chat_id=1,
                participant_id=participant_id,
                kind=OutboxKind.REMINDER,
                payload={"method": "sendMessage", "text": "Möte på AF"},
                idempotency_key=f"k{participant_id}",
                status=OutboxStatus.SENT,
                due_at=now,
                available_at=now,
                created_at=now,
                attempts=1,
            )
        )


async def end(database: Database, participant_id: int, when: ManualClock) -> None:
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(participant_id)
        assert participant is not None
        await change_status(
            uow,
            participant,
            ParticipantStatus.ENDED,
            reason=EndedReason.MOVED,
            by=ChangedBy.system(),
            now=when.now(),
            rhythm=None,
        )
        await uow.commit()


async def test_free_text_goes_a_year_after_leaving_and_not_before(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> None:
    mentor_id = await mentor(database, clock)
    long_gone = await join(database, clock, randomness, telegram_user_id=11, mentor_id=mentor_id)
    recent = await join(database, clock, randomness, telegram_user_id=12, name="Omar")
    staying = await join(database, clock, randomness, telegram_user_id=13, name="Alex")
    for person in (long_gone, recent, staying):
        await with_words(database, clock, person.participant_id)
    await end(database, long_gone.participant_id, clock)
    clock.advance(LEFT_LONG_AGO - LEFT_RECENTLY)
    await end(database, recent.participant_id, clock)
    clock.advance(LEFT_RECENTLY)

    await run_retention(deps(database, clock, randomness, tmp_path))

    async with database.session() as session:
        notes = dict((await session.execute(select(Checkin.participant_id, Checkin.note))).all())
        steps = dict((await session.execute(select(Step.participant_id, Step.note))).all())
        names = dict(
            (await session.execute(select(Participant.id, Participant.display_name))).all()
        )
        kinds = dict((await session.execute(select(Step.participant_id, Step.kind))).all())
    assert notes == {
        long_gone.participant_id: None,
        recent.participant_id: "ont i ryggen",
        staying.participant_id: "ont i ryggen",
    }
    assert steps[long_gone.participant_id] is None and steps[staying.participant_id] == "SFI kväll"
    assert names[long_gone.participant_id] is None and names[staying.participant_id] == "Alex"
    assert kinds[long_gone.participant_id] == StepKind.COURSE  # the fact stays for reports
    # Every outbox row is older than a month by now: texts gone, outcomes kept.
    async with database.session() as session:
        rows = (await session.execute(select(OutboxMessage.payload, OutboxMessage.status))).all()
    assert rows and all(
        payload in ({"method": "purged"}, {"method": "erased"}) and status is OutboxStatus.SENT
        for payload, status in rows
    )


async def test_a_recent_message_keeps_its_text(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> None:
    person = await join(database, clock, randomness, telegram_user_id=21)
    await with_words(database, clock, person.participant_id)
    clock.advance(timedelta(days=10))
    await run_retention(deps(database, clock, randomness, tmp_path))
    async with database.session() as session:
        (payload,) = (await session.scalars(select(OutboxMessage.payload))).all()
        raw = (await session.execute(text("SELECT payload FROM outbox"))).scalar_one()
    assert payload["text"] == "Möte på AF" and "Möte" not in raw
