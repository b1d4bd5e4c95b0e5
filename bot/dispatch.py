"""The outbox dispatcher: due rows -> Telegram, with retries, backoff and leases.

Rows are claimed in a short transaction (status `sending` with a lease), sent outside any
transaction, and their outcome recorded in another. A process that dies mid-send leaves
its rows `sending`; when the lease runs out another dispatcher takes them up, so nothing
is lost and only the few rows in flight at the crash can be sent twice. On PostgreSQL
claims use `FOR UPDATE SKIP LOCKED`, so several dispatchers share the work; on SQLite
the write lock taken at `BEGIN IMMEDIATE` makes the claim single-writer.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.clock import Clock, Randomness, SystemRandomness
from storage.db import Database
from storage.models import Mentor, OutboxMessage, OutboxStatus, Participant

log = logging.getLogger(__name__)

HARMLESS_BAD_REQUESTS = ("message is not modified",)
FILE_ID_SENDERS = {
    "sendPhoto": "photo",
    "sendVoice": "voice",
    "sendDocument": "document",
    "sendAudio": "audio",
    "sendVideo": "video",
}


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asks us to wait; `retry_after` becomes a timedelta in PTB 23."""
    value: Any = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 6
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    status: OutboxStatus
    telegram_message_id: int | None = None
    error: str | None = None
    available_at: datetime | None = None
    recipient_unreachable: bool = False


class Dispatcher:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        clock: Clock,
        policy: DispatchPolicy | None = None,
        randomness: Randomness | None = None,
    ) -> None:
        self.database = database
        self.bot = bot
        self.clock = clock
        self.policy = policy or DispatchPolicy()
        self.randomness = randomness or SystemRandomness()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next tick."""
        self._wake.set()

    async def claim(self, limit: int | None = None) -> list[int]:
        now = self.clock.now()
        due = or_(
            (OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
            & (OutboxMessage.available_at <= now),
            (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.lease_until < now),
        )
        query = (
            select(OutboxMessage.id)
            .where(due)
            .order_by(OutboxMessage.priority, OutboxMessage.available_at, OutboxMessage.id)
            .limit(limit or self.policy.batch_size)
        )
        if self.database.is_postgres:
            query = query.with_for_update(skip_locked=True)
        async with self.database.session() as session, session.begin():
            ids = list((await session.scalars(query)).all())
            if ids:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(status=OutboxStatus.SENDING, lease_until=now + self.policy.lease)
                )
        return ids

    async def run_once(self) -> int:
        """Claim one batch of due rows and send them; the number of rows handled."""
        ids = await self.claim()
        if ids:
            await self.send_claimed(ids)
        return len(ids)

    async def send_claimed(self, ids: Sequence[int]) -> None:
        """Send rows this process has claimed, in order, recording each outcome."""
        async with self.database.session() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(list(ids)))
                    .order_by(OutboxMessage.id)
                )
            ).all()
            work = [(row.id, row.chat_id, row.payload, row.attempts) for row in rows]
        unreachable_chats: set[int] = set()
        for row_id, chat_id, payload, attempts in work:
            if chat_id in unreachable_chats:
                outcome = Outcome(OutboxStatus.DEAD, error="recipient unreachable")
            else:
                outcome = await self._send(chat_id, payload, attempts + 1)
            if outcome.recipient_unreachable:
                unreachable_chats.add(chat_id)
            await self._record(row_id, chat_id, outcome)

    async def _send(self, chat_id: int, payload: dict[str, Any], attempt: int) -> Outcome:
        now = self.clock.now()
        try:
            message_id = await deliver(self.bot, chat_id, payload)
        except RetryAfter as error:
            wait = retry_after_seconds(error)
            log.warning("outbox chat=%s retry_after=%s", chat_id, wait)
            return Outcome(
                OutboxStatus.FAILED,
                error=f"RetryAfter {wait:g}s",
                available_at=now + timedelta(seconds=wait),
            )
        except Forbidden as error:
            return Outcome(OutboxStatus.DEAD, error=_reason(error), recipient_unreachable=True)
        except BadRequest as error:
            if any(text in error.message.lower() for text in HARMLESS_BAD_REQUESTS):
                return Outcome(OutboxStatus.SENT)
            return Outcome(OutboxStatus.DEAD, error=_reason(error))
        except InvalidToken:
            raise
        except (TimedOut, NetworkError) as error:
            if attempt >= self.policy.max_attempts:
                return Outcome(
                    OutboxStatus.DEAD, error=f"gave up after {attempt}: {_reason(error)}"
                )
            return Outcome(
                OutboxStatus.FAILED,
                error=_reason(error),
                available_at=now + self._backoff(attempt),
            )
        return Outcome(OutboxStatus.SENT, telegram_message_id=message_id)

    def _backoff(self, attempt: int) -> timedelta:
        base = self.policy.backoff_base.total_seconds() * (2 ** (attempt - 1))
        capped = min(base, self.policy.backoff_cap.total_seconds())
        return timedelta(seconds=self.randomness.uniform(capped / 2, capped))

    async def _record(self, row_id: int, chat_id: int, outcome: Outcome) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"status": outcome.status, "lease_until": None}
        if outcome.status is OutboxStatus.SENT:
            values["sent_at"] = now
            values["telegram_message_id"] = outcome.telegram_message_id
            values["attempts"] = OutboxMessage.attempts + 1
        elif outcome.status is OutboxStatus.FAILED:
            values["available_at"] = outcome.available_at or now
            values["last_error"] = outcome.error
            if not (outcome.error or "").startswith("RetryAfter"):
                values["attempts"] = OutboxMessage.attempts + 1
        else:
            values["last_error"] = outcome.error
            values["attempts"] = OutboxMessage.attempts + 1
        async with self.database.session() as session, session.begin():
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )
            if outcome.recipient_unreachable:
                await _mark_unreachable(session, chat_id, now)
        log.info("outbox row=%s chat=%s status=%s", row_id, chat_id, outcome.status)

    async def run_forever(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except InvalidToken:
                log.error("the bot token was refused by Telegram; the dispatcher stops")
                raise
            except Exception:
                log.exception("dispatcher pass failed; trying again")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
            _done, pending = await asyncio.wait(
                waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()


async def _mark_unreachable(session: Any, chat_id: int, now: datetime) -> None:
    """The recipient blocked the bot: stop sending to them until they come back."""
    await session.execute(
        update(Participant)
        .where(Participant.chat_id == chat_id, Participant.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    await session.execute(
        update(Mentor)
        .where(Mentor.telegram_user_id == chat_id, Mentor.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        )
        .values(status=OutboxStatus.DEAD, last_error="recipient unreachable")
    )


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    markup = payload.get("reply_markup")
    if not markup:
        return None
    return InlineKeyboardMarkup.de_json(markup, None)


async def deliver(bot: Bot, chat_id: int, payload: dict[str, Any]) -> int | None:
    """Make the Bot API call a payload describes; the id of the message it produced."""
    method = payload["method"]
    result: Any
    if method == "sendMessage":
        result = await bot.send_message(
            chat_id, payload["text"], reply_markup=_markup(payload), parse_mode=None
        )
    elif method == "editMessageText":
        result = await bot.edit_message_text(
            payload["text"],
            chat_id=chat_id,
            message_id=payload["message_id"],
            reply_markup=_markup(payload),
            parse_mode=None,
        )
    elif method == "editMessageReplyMarkup":
        result = await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=payload["message_id"], reply_markup=_markup(payload)
        )
    elif method in ("sendPhoto", "sendDocument") and "file_b64" in payload:
        upload = InputFile(base64.b64decode(payload["file_b64"]), filename=payload["filename"])
        send = bot.send_photo if method == "sendPhoto" else bot.send_document
        result = await send(
            chat_id,
            upload,
            caption=payload.get("caption"),
            reply_markup=_markup(payload),
            parse_mode=None,
        )
    elif method in FILE_ID_SENDERS:
        # A file Telegram already holds (a participant's voice message passed on to a
        # mentor, say): sent again by its file id, with a plain caption.
        field = FILE_ID_SENDERS[method]
        result = await getattr(bot, f"send_{field}")(
            chat_id,
            payload[field],
            caption=payload.get("caption"),
            reply_markup=_markup(payload),
            parse_mode=None,
        )
    elif method == "deleteMessage":
        result = await bot.delete_message(chat_id, payload["message_id"])
    else:
        params = {key: value for key, value in payload.items() if key != "method"}
        params["chat_id"] = chat_id
        result = await bot.do_api_request(method, api_kwargs=params)
    if isinstance(result, Message):
        return result.message_id
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None
