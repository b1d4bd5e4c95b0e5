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
    HELD = "held"  # its campaign is paused; released by resume
    SKIPPED = "skipped"  # not sent on purpose (reminders paused, left, cancelled): reason kept
    UNREACHABLE = "unreachable"  # the recipient blocked the bot (Telegram answered 403)


# Rows that may still be sent; everything else is final.
OPEN_STATUSES = (
    OutboxStatus.PENDING,
    OutboxStatus.SENDING,
    OutboxStatus.FAILED,
    OutboxStatus.HELD,
)


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
    # The text was removed (retention, or the recipient's erasure); the outcome stays.
    payload_purged_at: Mapped[datetime | None]
    # Which dispatcher holds the lease: an outcome is recorded only by the holder, so a
    # process that lost its lease (it stalled past it) cannot overwrite another's result.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    # What the row belongs to, so pause, cancel and the delivery counts can act on it.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_occurrence.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))

    __table_args__ = (
        # The dispatcher's claim: due rows of one status, most urgent first.
        Index("ix_outbox_status_priority_available_at", "status", "priority", "available_at"),
        Index("ix_outbox_chat_id_status", "chat_id", "status"),
        Index("ix_outbox_campaign_id_status", "campaign_id", "status"),
        Index("ix_outbox_appointment_id", "appointment_id"),
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


class DispatcherPresence(Base):
    """One row per running dispatcher, refreshed every few seconds.

    Telegram's limit of about 30 messages a second is for the bot, not for each process:
    with several workers, each dispatcher counts the live rows here and paces itself at its
    share of the rate. A process that dies stops refreshing its row and drops out.
    """

    __tablename__ = "dispatcher_presence"

    owner: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)
