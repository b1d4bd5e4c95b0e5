"""The people and groups of a project: cohorts, mentors, invites, participants.

Conversation state lives here too (DESIGN decision 1): one row per Telegram user, written
in the same transaction as the answer that moved it, so a crash or a second worker never
sees an answer without its state or a state without its answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base
from storage.types import EncryptedText


class ParticipantStatus(StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    FOLLOW_UP = "follow_up"
    ENDED = "ended"


class InviteKind(StrEnum):
    PARTICIPANT = "participant"
    MENTOR = "mentor"


class Cohort(Base):
    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]


class Mentor(Base):
    """A mentor, or a coordinator (project staff) who also receives widened escalations."""

    __tablename__ = "mentor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Languages the mentor can write in, e.g. "sv,ar"; the first is their own interface language.
    languages: Mapped[str] = mapped_column(String(60), default="sv")
    locale: Mapped[str | None] = mapped_column(String(8))
    is_coordinator: Mapped[bool] = mapped_column(default=False)
    caseload_limit: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.name


class Invite(Base):
    """A one-time code behind a t.me link or QR code: how a participant or a mentor joins."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[InviteKind] = mapped_column(default=InviteKind.PARTICIPANT)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    cohort: Mapped[Cohort | None] = relationship(lazy="raise")
    mentor: Mapped[Mentor | None] = relationship(lazy="raise")


class Participant(Base):
    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The pseudonymous id mentors and staff use in commands, reports and logs.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    # Null once the participant has erased their data: the row stays for anonymous counts.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    display_name: Mapped[str | None] = mapped_column(EncryptedText("participant.display_name"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invite.id"))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[ParticipantStatus] = mapped_column(default=ParticipantStatus.ACTIVE)
    ended_reason: Mapped[str | None] = mapped_column(String(30))
    gender: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[datetime | None]
    joined_at: Mapped[datetime]
    reminders_paused_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # When the retention rule (or erasure) removed their words.
    free_text_purged_at: Mapped[datetime | None]

    cohort: Mapped[Cohort | None] = relationship(lazy="raise")
    mentor: Mapped[Mentor | None] = relationship(lazy="raise")

    __table_args__ = (Index("ix_participant_mentor_status", "mentor_id", "status"),)


class ConsentRefusal(Base):
    """Someone opened an invite and declined the privacy notice: only that fact is kept."""

    __tablename__ = "consent_refusal"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id"))
    locale: Mapped[str] = mapped_column(String(8))
    refused_at: Mapped[datetime]


class Conversation(Base):
    """Where one Telegram user is in a flow. Holds no free text: answers go to their tables."""

    __tablename__ = "conversation"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The locale chosen before a participant row exists (during joining).
    locale: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime]
