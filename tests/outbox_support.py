"""Shared pieces for outbox tests: people in bulk, a sending Bot on the emulator, rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from bot.clock import ManualClock
from bot.dispatch import Dispatcher, DispatchPolicy
from bot.messaging import PRIORITY, text_payload
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import Emulator
from bot.telegram_http import AiohttpRequest
from storage.db import Database
from storage.models import (
    Cohort,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
)

FIRST_CHAT = 5_000_000
_open_bots: list[Any] = []


async def close_bots() -> None:
    """Shut the test dispatchers' connection pools (each test module's fixture calls it)."""
    while _open_bots:
        await _open_bots.pop().shutdown()


def make_bot(emulator: Emulator, pool: int = 40) -> Any:
    from telegram import Bot

    return Bot(
        SANDBOX_TOKEN,
        base_url=emulator.bot_api_url,
        base_file_url=emulator.file_url,
        request=AiohttpRequest(connection_pool_size=pool, read_timeout=2.0),
    )


def policy(**overrides: Any) -> DispatchPolicy:
    """No pacing unless a test asks for it: most tests are about outcomes, not time."""
    values: dict[str, Any] = {"rate": None, "chat_rate": None, "flush_interval": 0.01}
    values.update(overrides)
    return DispatchPolicy(**values)


async def dispatcher(
    database: Database, emulator: Emulator, clock: ManualClock, **overrides: Any
) -> Dispatcher:
    from tests.conftest import CountingRandomness

    bot = make_bot(emulator)
    await bot.initialize()
    _open_bots.append(bot)
    return Dispatcher(database, bot, clock, policy(**overrides), CountingRandomness())


async def add_people(
    database: Database,
    emulator: Emulator | None,
    count: int,
    *,
    now: datetime,
    cohort: str = "Lumena vår",
    locales: Sequence[str] = ("sv",),
    first_chat: int = FIRST_CHAT,
    **fields: Any,
) -> list[int]:
    """Participants (and emulator users who have started the bot); their row ids."""
    async with database.session() as session, session.begin():
        cohort_row = (await session.scalars(select(Cohort).where(Cohort.name == cohort))).first()
        if cohort_row is None:
            cohort_row = Cohort(name=cohort, created_at=now)
            session.add(cohort_row)
            await session.flush()
        rows = [
            {
                "public_id": f"P{first_chat + index}",
                "telegram_user_id": first_chat + index,
                "chat_id": first_chat + index,
                "cohort_id": cohort_row.id,
                "locale": locales[index % len(locales)],
                "status": ParticipantStatus.ACTIVE,
                "joined_at": now,
                "consent_at": now,
                **fields,
            }
            for index in range(count)
        ]
        await session.execute(insert(Participant), rows)
        ids = (
            await session.scalars(
                select(Participant.id)
                .where(Participant.telegram_user_id >= first_chat)
                .where(Participant.telegram_user_id < first_chat + count)
                .order_by(Participant.id)
            )
        ).all()
    if emulator is not None:
        for index in range(count):
            emulator.state.upsert_user(
                user_id=first_chat + index, first_name=f"U{index}", started=True
            )
    return list(ids)


async def queue(
    database: Database,
    chat_id: int,
    text: str,
    *,
    now: datetime,
    key: str,
    kind: OutboxKind = OutboxKind.NOTIFICATION,
    participant_id: int | None = None,
    due_at: datetime | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    **fields: Any,
) -> int:
    async with database.session() as session, session.begin():
        row = OutboxMessage(
            chat_id=chat_id,
            payload=text_payload(text),
            idempotency_key=key,
            kind=kind,
            priority=PRIORITY[kind],
            status=status,
            due_at=due_at or now,
            available_at=due_at or now,
            attempts=0,
            created_at=now,
            participant_id=participant_id,
            **fields,
        )
        session.add(row)
        await session.flush()
        return row.id


async def row(database: Database, row_id: int) -> OutboxMessage:
    async with database.session() as session:
        found = await session.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def texts_in(emulator: Emulator, chat_id: int) -> list[str]:
    return [m.text or "" for m in await emulator.client.bot_messages(chat_id)]
