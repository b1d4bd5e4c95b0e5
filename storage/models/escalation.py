"""Requests for help (escalation cases): the case, its messages both ways, every step taken.

A case is a participant's question about housing, money, violence or health that a human
mentor must answer. Everything about it is a row, so an unclaimed case is re-notified
and widened by whichever process looks next, after any restart: the SLA lives in
`next_action_at`, not in a timer. What a participant or mentor wrote is sealed
(`EncryptedText`); matched triage terms are their words too, so they are sealed as well.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import EncryptedJSON, EncryptedText


class EscalationStatus(StrEnum):
    DRAFT = "draft"  # written, not yet shared: the participant has not said yes
    OPEN = "open"  # shared (or urgent), nobody has claimed it
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class EscalationCategory(StrEnum):
    HOUSING = "housing"
    DEBT = "debt"  # money, bills and debts
    VIOLENCE = "violence"
    HEALTH = "health"
    OTHER = "other"  # something else


class EscalationSource(StrEnum):
    TOPIC = "topic"  # chosen from the help topics
    TEXT = "text"  # free text outside any flow, triaged
    ENTRY = "entry"  # "I want help" from another flow (a check-in answer)


class Circle(StrEnum):
    """Who is told, widening while nobody claims: the participant's mentor, then mentors
    who speak the participant's language, then coordinators."""

    MENTOR = "mentor"
    LANGUAGE = "language"
    COORDINATORS = "coordinators"


class Sender(StrEnum):
    PARTICIPANT = "participant"
    MENTOR = "mentor"


class MessageKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    VOICE = "voice"
    DOCUMENT = "document"
    AUDIO = "audio"
    VIDEO = "video"


class EventKind(StrEnum):
    CREATED = "created"
    SHARED = "shared"  # the participant agreed to share what they wrote
    WITHHELD = "withheld"  # the participant said no: their words were deleted
    NOTIFIED = "notified"  # a mentor was told (first time)
    REMINDED = "reminded"  # a mentor was told again: still unclaimed
    WIDENED = "widened"  # the circle grew
    UNREACHABLE = "unreachable"  # nobody in any circle could be told
    URGENT = "urgent"  # a later message made the case urgent
    RECEIVED = "received"  # the participant wrote more
    HELD = "held"  # a flood: stored, passed on later in one go
    CLAIMED = "claimed"
    REASSIGNED = "reassigned"  # staff or a coordinator gave the case to another mentor
    REPLIED = "replied"  # a mentor wrote to the participant
    RESOLVED = "resolved"
    REOPENED = "reopened"
    HIDDEN = "hidden"  # the participant had the bot delete the case's messages in their chat


class Audience(StrEnum):
    PARTICIPANT = "participant"
    MENTOR = "mentor"


class Escalation(Base):
    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    category: Mapped[EscalationCategory]
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[EscalationStatus] = mapped_column(default=EscalationStatus.DRAFT)
    source: Mapped[EscalationSource]
    # The triage terms that matched, as the participant wrote them: why a mentor got it.
    terms: Mapped[list[str]] = mapped_column(EncryptedJSON("escalation.terms"), default=list)
    # The mentor who has the case (set on claim).
    assigned_mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    circle: Mapped[Circle] = mapped_column(default=Circle.MENTOR)
    created_at: Mapped[datetime]
    shared_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]
    # When the SLA job looks at the case next (re-notify, widen); none once claimed.
    next_action_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_escalation_status_next_action_at", "status", "next_action_at"),
        Index("ix_escalation_participant_id_status", "participant_id", "status"),
    )


class EscalationMessage(Base):
    """One message of a case, either way. Media are kept as Telegram file ids: the bot can
    send them on, while the bytes stay at Telegram."""

    __tablename__ = "escalation_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id", ondelete="CASCADE"))
    sender: Mapped[Sender]
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    kind: Mapped[MessageKind] = mapped_column(default=MessageKind.TEXT)
    # The text, or the caption of a media message.
    text: Mapped[str | None] = mapped_column(EncryptedText("escalation_message.text"))
    file_id: Mapped[str | None] = mapped_column(EncryptedText("escalation_message.file_id"))
    file_name: Mapped[str | None] = mapped_column(EncryptedText("escalation_message.file_name"))
    # The message in the sender's own chat (so a participant can have it hidden).
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    # When it was queued for the other side; none while held back (not shared, a flood).
    relayed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_escalation_message_escalation_id_created_at", "escalation_id", "created_at"),
    )


class EscalationEvent(Base):
    """Every step of a case, for the mentor's history, the SLA report and audits."""

    __tablename__ = "escalation_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id", ondelete="CASCADE"))
    kind: Mapped[EventKind]
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    circle: Mapped[Circle | None]
    detail: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_escalation_event_escalation_id_at", "escalation_id", "at"),)


class EscalationOutbox(Base):
    """Which outbox rows were about which case: a mentor's reply to a notification finds
    its case through the Telegram message id the dispatcher recorded, and "hide" finds
    the messages to delete in the participant's chat."""

    __tablename__ = "escalation_outbox"

    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id", ondelete="CASCADE"))
    audience: Mapped[Audience]

    __table_args__ = (Index("ix_escalation_outbox_escalation_id", "escalation_id"),)
