"""A participant's journey: sign-up, status changes, the action plan, follow-up after exit.

Everything that changes a participant's situation is kept as an append-only event with
who did it and when (`lifecycle_event`, `plan_event`), because projects report on it
months later and mentors must be able to see how a plan came about. Free text (a name,
a goal, a step) is sealed like every other free text; the events that keep an earlier
wording seal it too.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.models.core import ParticipantStatus
from storage.types import EncryptedJSON, EncryptedText


class EndedReason(StrEnum):
    """Why someone left the active phase. Work and studies lead to follow-up, not an end."""

    WORK = "work"
    STUDIES = "studies"
    MOVED = "moved"
    OWN_WISH = "own_wish"
    NO_CONTACT = "no_contact"
    OTHER = "other"
    DECLINED = "declined"  # an application the project said no to


class ActorKind(StrEnum):
    PARTICIPANT = "participant"
    MENTOR = "mentor"  # a mentor or coordinator, named by mentor_id
    STAFF = "staff"  # at the command line or the dashboard, named by actor_name
    SYSTEM = "system"


class LifecycleEvent(Base):
    """One change of a participant's status: from, to, why, by whom, when. Never updated."""

    __tablename__ = "lifecycle_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    from_status: Mapped[ParticipantStatus | None]
    to_status: Mapped[ParticipantStatus]
    reason: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[ActorKind]
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    actor_name: Mapped[str | None] = mapped_column(String(120))
    occurred_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_lifecycle_event_participant_occurred", "participant_id", "occurred_at"),
        Index("ix_lifecycle_event_to_status_occurred", "to_status", "occurred_at"),
    )


class SignupDraft(Base):
    """An open sign-up in progress, one per Telegram account. It exists only after the
    person has agreed to the privacy notice; it becomes an application when sent, and a
    draft left alone is deleted after a while (see `bot/domain/signup.py`)."""

    __tablename__ = "signup_draft"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    locale: Mapped[str] = mapped_column(String(8))
    consent_at: Mapped[datetime]
    display_name: Mapped[str | None] = mapped_column(EncryptedText("signup_draft.display_name"))
    area: Mapped[str | None] = mapped_column(String(40))
    area_other: Mapped[str | None] = mapped_column(EncryptedText("signup_draft.area_other"))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    gender: Mapped[str | None] = mapped_column(String(20))
    # Something written during the intake may mean danger: safety lines were shown, and
    # the application goes first in the list.
    urgent: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class SignupAttempt(Base):
    """That a Telegram account began a sign-up, and when: for refusing a flood kindly.
    Ids and times only, and deleted after a day."""

    __tablename__ = "signup_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_signup_attempt_user_started", "telegram_user_id", "started_at"),
        Index("ix_signup_attempt_started_at", "started_at"),
    )


class ApplicationDecision(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Application(Base):
    """A sent sign-up, waiting for staff (decision is null) or decided. A participant who
    left and comes back applies again: one row per application."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    area: Mapped[str] = mapped_column(String(40))
    area_other: Mapped[str | None] = mapped_column(EncryptedText("application.area_other"))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    urgent: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime]
    decision: Mapped[ApplicationDecision | None]
    decided_at: Mapped[datetime | None]
    decided_by_mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (Index("ix_application_decision_submitted", "decision", "submitted_at"),)


class PlanItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class StepOwner(StrEnum):
    """Who does a step of the action plan."""

    PARTICIPANT = "participant"
    MENTOR = "mentor"
    ARBETSFORMEDLINGEN = "af"
    SOCIAL_SERVICES = "soc"
    PSYCHIATRY = "psych"
    PRIMARY_CARE = "vc"
    FORSAKRINGSKASSAN = "fk"
    SFI = "sfi"
    OTHER = "other"


class PlanGoal(Base):
    __tablename__ = "plan_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    text: Mapped[str] = mapped_column(EncryptedText("plan_goal.text"))
    status: Mapped[PlanItemStatus] = mapped_column(default=PlanItemStatus.OPEN)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlanStep(Base):
    """A step of the action plan (a *handlingsplan*): what, who does it, by when."""

    __tablename__ = "plan_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goal.id"))
    text: Mapped[str] = mapped_column(EncryptedText("plan_step.text"))
    owner: Mapped[StepOwner]
    due_on: Mapped[date | None]
    status: Mapped[PlanItemStatus] = mapped_column(default=PlanItemStatus.OPEN)
    # When a check-in last asked the participant about it: asked again a week later at most.
    asked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_plan_step_participant_status", "participant_id", "status"),)


class PlanEventKind(StrEnum):
    GOAL_ADDED = "goal_added"
    GOAL_CHANGED = "goal_changed"
    GOAL_CLOSED = "goal_closed"
    STEP_ADDED = "step_added"
    STEP_CHANGED = "step_changed"
    STEP_CLOSED = "step_closed"
    STEP_REOPENED = "step_reopened"
    STEP_NOT_YET = "step_not_yet"  # the participant said "not yet" in a check-in
    STEP_HELP = "step_help"  # the participant asked for help with it


class PlanEvent(Base):
    """Every change to a plan, with who and when; `change` keeps the values before and
    after (sealed: it may hold a goal's earlier wording). Never updated."""

    __tablename__ = "plan_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goal.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("plan_step.id"))
    kind: Mapped[PlanEventKind]
    change: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("plan_event.change"))
    actor: Mapped[ActorKind]
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    occurred_at: Mapped[datetime]


class FollowUpStatus(StrEnum):
    SCHEDULED = "scheduled"
    ASKED = "asked"
    ANSWERED = "answered"
    CANCELLED = "cancelled"  # the participant ended the contact, or came back


class FollowUpAnswer(StrEnum):
    WORK = "work"
    STUDIES = "studies"
    NEITHER = "neither"


class FollowUpQuestion(Base):
    """ "Are you still in work or studies?", asked some months after someone left for
    work or studies. The answer is an outcome the project reports."""

    __tablename__ = "follow_up_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    months: Mapped[int]
    # The lifecycle event that started this follow-up (several if someone leaves twice).
    left_event_id: Mapped[int] = mapped_column(ForeignKey("lifecycle_event.id"))
    status: Mapped[FollowUpStatus] = mapped_column(default=FollowUpStatus.SCHEDULED)
    due_at: Mapped[datetime]
    asked_at: Mapped[datetime | None]
    answer: Mapped[FollowUpAnswer | None]
    answered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_follow_up_question_status_due", "status", "due_at"),)
