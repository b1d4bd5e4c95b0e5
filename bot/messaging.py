"""Outgoing messages as plain data, and the notifier that queues them in the outbox.

Domain code says what to send to whom; it never touches Telegram. A payload is the Bot API
call to make, already rendered in the recipient's language, so a message queued today is
sent unchanged after a restart tomorrow. Every outgoing text is plain: never parse_mode,
so what a participant wrote is shown as written, never interpreted as HTML or Markdown.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock
from storage.models import OutboxKind, OutboxMessage
from storage.uow import UnitOfWork

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024

PRIORITY: dict[OutboxKind, int] = {
    OutboxKind.REPLY: 10,
    OutboxKind.NOTIFICATION: 20,
    OutboxKind.REMINDER: 40,
    OutboxKind.CHECKIN: 50,
    OutboxKind.CAMPAIGN: 80,
}


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None

    def to_api(self) -> dict[str, str]:
        if self.url is not None:
            return {"text": self.label, "url": self.url}
        return {"text": self.label, "callback_data": self.data or ""}


Keyboard = Sequence[Sequence[Button]]


def keyboard_markup(buttons: Keyboard | None) -> dict[str, Any] | None:
    if not buttons:
        return None
    return {"inline_keyboard": [[button.to_api() for button in row] for row in buttons if row]}


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut text Telegram would refuse into parts at line or word breaks."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def text_payload(text: str, buttons: Keyboard | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"method": "sendMessage", "text": text}
    markup = keyboard_markup(buttons)
    if markup:
        payload["reply_markup"] = markup
    return payload


def edit_payload(message_id: int, text: str, buttons: Keyboard | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"method": "editMessageText", "message_id": message_id, "text": text}
    markup = keyboard_markup(buttons)
    if markup:
        payload["reply_markup"] = markup
    return payload


def remove_buttons_payload(message_id: int) -> dict[str, Any]:
    return {"method": "editMessageReplyMarkup", "message_id": message_id}


def file_payload(
    method: str,
    content: bytes,
    *,
    filename: str,
    caption: str | None = None,
    buttons: Keyboard | None = None,
) -> dict[str, Any]:
    """sendPhoto or sendDocument with the bytes inside the (encrypted) payload."""
    payload: dict[str, Any] = {
        "method": method,
        "file_b64": base64.b64encode(content).decode("ascii"),
        "filename": filename,
    }
    if caption:
        payload["caption"] = caption[:TELEGRAM_CAPTION_LIMIT]
    markup = keyboard_markup(buttons)
    if markup:
        payload["reply_markup"] = markup
    return payload


class Notifier:
    """Queues messages in the outbox inside the caller's transaction (sent after commit)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def send(
        self,
        chat_id: int,
        payload: dict[str, Any],
        *,
        key: str,
        kind: OutboxKind,
        due_at: datetime | None = None,
        participant_id: int | None = None,
        mentor_id: int | None = None,
        appointment_id: int | None = None,
    ) -> OutboxMessage | None:
        now = self.clock.now()
        return await self.uow.outbox.add(
            appointment_id=appointment_id,
            chat_id=chat_id,
            payload=payload,
            key=key,
            kind=kind,
            priority=PRIORITY[kind],
            due_at=due_at or now,
            now=now,
            participant_id=participant_id,
            mentor_id=mentor_id,
        )

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        kind: OutboxKind,
        buttons: Keyboard | None = None,
        due_at: datetime | None = None,
        participant_id: int | None = None,
        mentor_id: int | None = None,
        appointment_id: int | None = None,
    ) -> list[OutboxMessage]:
        """Queue text, split if it is longer than Telegram allows; buttons go on the last part."""
        parts = split_text(text)
        rows: list[OutboxMessage] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            row = await self.send(
                chat_id,
                text_payload(part, buttons if last else None),
                key=key if len(parts) == 1 else f"{key}#{index}",
                kind=kind,
                due_at=due_at,
                participant_id=participant_id,
                mentor_id=mentor_id,
                appointment_id=appointment_id,
            )
            if row is not None:
                rows.append(row)
        return rows

    async def send_texts(self, messages: Sequence[OutgoingText]) -> None:
        """Queue many texts in one statement (each split like `send_text`, once per key):
        what a periodic job uses when thousands of check-ins fall due at once."""
        now = self.clock.now()
        rows: list[dict[str, Any]] = []
        for message in messages:
            parts = split_text(message.text)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                rows.append(
                    {
                        "chat_id": message.chat_id,
                        "payload": text_payload(part, message.buttons if last else None),
                        "key": message.key if len(parts) == 1 else f"{message.key}#{index}",
                        "kind": message.kind,
                        "priority": PRIORITY[message.kind],
                        "due_at": message.due_at or now,
                        "participant_id": message.participant_id,
                        "mentor_id": message.mentor_id,
                    }
                )
        await self.uow.outbox.add_many(rows, now=now)


@dataclass(frozen=True)
class OutgoingText:
    """One text for `Notifier.send_texts`."""

    chat_id: int
    text: str
    key: str
    kind: OutboxKind
    buttons: Keyboard | None = None
    due_at: datetime | None = None
    participant_id: int | None = None
    mentor_id: int | None = None
