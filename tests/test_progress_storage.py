"""Storage behind check-ins on every backend: bulk queueing stays idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.messaging import Notifier, OutgoingText
from storage.db import Database
from storage.models import OutboxKind, OutboxStatus
from storage.uow import UnitOfWork
from tests.factories import outbox

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_queueing_many_texts_at_once_sends_each_key_once(database: Database) -> None:
    clock = ManualClock(NOW)
    async with UnitOfWork(database) as uow:
        await Notifier(uow, clock).send_text(
            11, "before", key="checkin:1:x", kind=OutboxKind.CHECKIN
        )
        await uow.commit()
    batch = [
        OutgoingText(11, "again", key="checkin:1:x", kind=OutboxKind.CHECKIN),
        OutgoingText(12, "hej", key="checkin:2:x", kind=OutboxKind.CHECKIN, participant_id=None),
        OutgoingText(13, "x" * 5000, key="checkin:3:x", kind=OutboxKind.CHECKIN),
    ]
    for _ in range(2):  # a job that runs twice
        async with UnitOfWork(database) as uow:
            await Notifier(uow, clock).send_texts(batch)
            await uow.commit()
    rows = await outbox(database)
    assert [(row.chat_id, row.idempotency_key) for row in rows] == [
        (11, "checkin:1:x"),
        (12, "checkin:2:x"),
        (13, "checkin:3:x#0"),
        (13, "checkin:3:x#1"),
    ]
    assert rows[0].payload["text"] == "before"  # the first one queued stays
    assert all(row.status is OutboxStatus.PENDING and row.available_at == NOW for row in rows)
    assert {row.priority for row in rows} == {50}
