"""The inbox and the outbox: every update that arrives and every message that leaves is a row.

The inbox makes an update durable before Telegram is told it was received, and the
handler that processes it deletes it in the same transaction that stores its effects, so
an update is handled exactly once across crashes. The outbox (DESIGN decision 2) holds
every message the bot sends, rendered in the recipient's language, until it is delivered.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import EncryptedJSON


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # a transient fault; will be retried at available_at
    DEAD = "dead"  # given up, with its reason in last_error


class OutboxKind(StrEnum):
    REPLY = "reply"  # an answer to what the user just did
    NOTIFICATION = "notification"  # to a mentor or staff
    REMINDER = "reminder"
    CHECKIN = "checkin"
    CAMPAIGN = "campaign"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    kind: Mapped[OutboxKind]
    # Lower is sooner: replies before notifications before reminders before campaigns.
    priority: Mapped[int] = mapped_column(default=50)
    # {"method": "sendMessage", ...Bot API parameters}; sealed, it may quote a participant.
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("outbox.payload"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    due_at: Mapped[datetime]
    # When the row may next be tried: due_at at first, later after a backoff.
    available_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_status_available_at", "status", "available_at"),
        Index("ix_outbox_chat_id_status", "chat_id", "status"),
    )


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"


class InboxUpdate(Base):
    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("inbox.update"))
    status: Mapped[InboxStatus] = mapped_column(default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime]

    __table_args__ = (Index("ix_inbox_status_update_id", "status", "update_id"),)
