"""Campaigns and appointments: what the bot sends on its own initiative, on a schedule.

A campaign is a message to one or more cohorts, written by staff in each language, sent
once or on a recurrence (DESIGN decision 3: APScheduler computes the next time, stored in
`next_run_at`; a periodic job writes each occurrence to the outbox). An appointment is a
meeting a mentor set with a participant; its reminders are outbox rows written when it is
saved. Place and note are a mentor's free text and are stored encrypted.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import EncryptedJSON, EncryptedText


class CampaignState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its next occurrence
    RUNNING = "running"  # an occurrence is being sent
    PAUSED = "paused"  # nothing is sent and nothing new is written until resumed
    CANCELLED = "cancelled"
    DONE = "done"  # no further occurrence, everything delivered or given up


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The audience: cohort ids, and optional filters by language and participant status.
    cohort_ids: Mapped[list[int]] = mapped_column(JSON)
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    statuses: Mapped[list[str] | None] = mapped_column(JSON)
    # {locale: text}; a participant whose language has no text gets the fallback's.
    texts: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("campaign.texts"))
    fallback_locale: Mapped[str | None] = mapped_column(String(8))
    # A schedule spec for bot.schedule (date, cron or interval) in the project's zone.
    schedule: Mapped[dict[str, Any]]
    quiet_start: Mapped[time] = mapped_column(Time())
    quiet_end: Mapped[time] = mapped_column(Time())
    state: Mapped[CampaignState] = mapped_column(default=CampaignState.SCHEDULED)
    next_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_campaign_state_next_run_at", "state", "next_run_at"),)


class CampaignOccurrence(Base):
    """One send of a campaign; unique per time, so two processes never write it twice."""

    __tablename__ = "campaign_occurrence"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    scheduled_for: Mapped[datetime]
    materialised_at: Mapped[datetime]
    recipients: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("campaign_id", "scheduled_for", name="uq_campaign_occurrence_time"),
    )


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class AppointmentAnswer(StrEnum):
    COMING = "coming"
    NEEDS_NEW_TIME = "needs_new_time"


class Appointment(Base):
    __tablename__ = "appointment"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor.id"))
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(EncryptedText("appointment.place"))
    note: Mapped[str | None] = mapped_column(EncryptedText("appointment.note"))
    status: Mapped[AppointmentStatus] = mapped_column(default=AppointmentStatus.SCHEDULED)
    answer: Mapped[AppointmentAnswer | None]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_appointment_participant_id_starts_at", "participant_id", "starts_at"),
    )
