"""Where a participant is in the project, and the one function every status change uses.

A participant is `applied` (signed up, waiting for an answer), `active`, `follow_up`
(left for work or studies; the mentor stays, check-ins become rarer) or `ended` (with a
reason). Every change goes through `change_status`, which checks that the move makes
sense, keeps who made it and when in `lifecycle_event`, and does what the new status
implies: follow-up questions scheduled or cancelled, queued reminders dropped for
someone who has ended. Flows ask `receives_checkins` / `receives_reminders` instead of
comparing statuses themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.journey import Lifecycle
from storage.models import (
    ActorKind,
    Cadence,
    EndedReason,
    LifecycleEvent,
    Mentor,
    OutboxKind,
    Participant,
    ParticipantStatus,
    Step,
    StepKind,
    StepSource,
)
from storage.uow import UnitOfWork

from . import checkin, follow_up
from .onboarding import DomainError

APPLIED = ParticipantStatus.APPLIED
ACTIVE = ParticipantStatus.ACTIVE
FOLLOW_UP = ParticipantStatus.FOLLOW_UP
ENDED = ParticipantStatus.ENDED

# Which moves make sense. None is "not a participant yet".
TRANSITIONS: dict[ParticipantStatus | None, frozenset[ParticipantStatus]] = {
    None: frozenset({APPLIED, ACTIVE}),
    APPLIED: frozenset({ACTIVE, ENDED}),
    ACTIVE: frozenset({FOLLOW_UP, ENDED}),
    # Back to active when the job or course ends and support is needed again.
    FOLLOW_UP: frozenset({ACTIVE, ENDED}),
    # Someone who left may apply again, or a mentor may take them back.
    ENDED: frozenset({APPLIED, ACTIVE}),
}

WORK_OR_STUDIES = frozenset({EndedReason.WORK, EndedReason.STUDIES})
# The reasons a mentor or staff member can give for ending (declining is an application's).
END_REASONS = (
    EndedReason.WORK,
    EndedReason.STUDIES,
    EndedReason.MOVED,
    EndedReason.OWN_WISH,
    EndedReason.NO_CONTACT,
    EndedReason.OTHER,
)
# Messages the bot sends on its own initiative that someone who has ended must not get.
NOT_FOR_ENDED = (OutboxKind.REMINDER, OutboxKind.CHECKIN, OutboxKind.CAMPAIGN)


class LifecycleError(DomainError):
    """A status change that does not make sense (ending someone who has ended, say)."""


@dataclass(frozen=True)
class ChangedBy:
    """Who made a change: the participant, a mentor (by id), staff (by name), the system."""

    kind: ActorKind
    mentor_id: int | None = None
    name: str | None = None

    @classmethod
    def participant(cls) -> ChangedBy:
        return cls(ActorKind.PARTICIPANT)

    @classmethod
    def mentor(cls, mentor: Mentor) -> ChangedBy:
        return cls(ActorKind.MENTOR, mentor_id=mentor.id)

    @classmethod
    def staff(cls, name: str) -> ChangedBy:
        return cls(ActorKind.STAFF, name=name.strip()[:120] or "staff")

    @classmethod
    def system(cls) -> ChangedBy:
        return cls(ActorKind.SYSTEM)


@dataclass(frozen=True)
class Rhythm:
    """How often check-ins come in each phase: weekly while active, the project's choice
    (monthly by default) in follow-up. From settings; the lifecycle sets the schedule."""

    zone: ZoneInfo
    checkin: checkin.CheckinPolicy
    follow_up: Cadence = Cadence.MONTHLY

    @classmethod
    def from_settings(cls, settings: Any) -> Rhythm:
        return cls(
            zone=settings.zone,
            checkin=checkin.CheckinPolicy.from_settings(settings),
            follow_up=Cadence(settings.follow_up_cadence),
        )


def receives_checkins(participant: Participant) -> bool:
    """Check-ins are for people in the project: not applicants, not those who ended."""
    return participant.erased_at is None and participant.status in (ACTIVE, FOLLOW_UP)


def receives_reminders(participant: Participant) -> bool:
    """Reminders, campaigns and follow-up questions: the same people as check-ins."""
    return receives_checkins(participant)


def in_caseload(participant: Participant) -> bool:
    return participant.status in (ACTIVE, FOLLOW_UP)


def reason_of(text: str) -> EndedReason | None:
    try:
        return EndedReason(text)
    except ValueError:
        return None


def _check(
    participant: Participant | None,
    current: ParticipantStatus | None,
    to: ParticipantStatus,
    reason: EndedReason | None,
) -> None:
    if participant is not None and participant.erased_at is not None:
        raise LifecycleError("this participant has erased their data")
    if to not in TRANSITIONS[current]:
        raise LifecycleError(f"cannot move from {current or 'nothing'} to {to}")
    if to is FOLLOW_UP and reason not in WORK_OR_STUDIES:
        raise LifecycleError("follow-up is for someone who left for work or studies")
    if to is ENDED:
        if reason is None:
            raise LifecycleError("ending needs a reason")
        if reason is EndedReason.DECLINED and current is not APPLIED:
            raise LifecycleError("only an application is declined")
        if reason in WORK_OR_STUDIES and current is APPLIED:
            raise LifecycleError("an applicant has not taken part yet")
    if to in (APPLIED, ACTIVE) and reason is not None:
        raise LifecycleError(f"{to} takes no reason")


async def record_start(
    uow: UnitOfWork,
    participant: Participant,
    *,
    by: ChangedBy,
    now: datetime,
) -> LifecycleEvent:
    """A participant row has just been made with its first status: keep that as an event."""
    _check(None, None, participant.status, None)
    event = _event(participant, None, participant.status, None, by, now)
    uow.repository(Lifecycle).add(event)
    await uow.session.flush()
    return event


async def change_status(
    uow: UnitOfWork,
    participant: Participant,
    to: ParticipantStatus,
    *,
    reason: EndedReason | None = None,
    by: ChangedBy,
    now: datetime,
    rhythm: Rhythm | None,
) -> LifecycleEvent:
    """Move a participant to `to`, keep the event, and do what the new status implies:
    follow-up questions, the check-in cadence (with a `rhythm`; None leaves the schedule
    to the check-in job), no reminders after the end."""
    current = participant.status
    _check(participant, current, to, reason)
    participant.status = to
    if to in (FOLLOW_UP, ENDED):
        # Why they left the active phase; leaving follow-up keeps the reason they left for.
        if current is not FOLLOW_UP:
            participant.ended_reason = reason.value if reason else None
    else:
        participant.ended_reason = None
    event = _event(participant, current, to, reason, by, now)
    lifecycle = uow.repository(Lifecycle)
    lifecycle.add(event)
    await lifecycle.flush()
    if to is ENDED:
        await lifecycle.cancel_queued(participant.id, NOT_FOR_ENDED, "participant ended")
    if to is FOLLOW_UP:
        await follow_up.schedule_questions(uow, participant, event)
        await _record_left_step(uow, participant, by, now, rhythm)
    elif current is FOLLOW_UP:
        await follow_up.cancel_questions(uow, participant)
    if rhythm is not None and to in (ACTIVE, FOLLOW_UP):
        cadence = rhythm.follow_up if to is FOLLOW_UP else Cadence.WEEKLY
        await checkin.change_cadence(uow, participant, cadence, now, rhythm.zone, rhythm.checkin)
    return event


async def _record_left_step(
    uow: UnitOfWork, participant: Participant, by: ChangedBy, now: datetime, rhythm: Rhythm | None
) -> None:
    """Leaving for work or studies is a step forward (stegförflyttning) as ESF counts
    them; a mentor who recorded it with /step just before is not counted twice."""
    recent = await uow.session.scalar(
        select(Step.id).where(
            Step.participant_id == participant.id,
            Step.kind == StepKind.LEFT_FOR_WORK,
            Step.recorded_at > now - checkin.SAME_STEP_WITHIN,
        )
    )
    if recent is not None:
        return
    zone = rhythm.zone if rhythm is not None else ZoneInfo("Europe/Stockholm")
    uow.session.add(
        Step(
            participant_id=participant.id,
            kind=StepKind.LEFT_FOR_WORK,
            taken_on=now.astimezone(zone).date(),
            source=StepSource.MENTOR,
            recorded_by_mentor_id=by.mentor_id,
            recorded_at=now,
        )
    )


def _event(
    participant: Participant,
    current: ParticipantStatus | None,
    to: ParticipantStatus,
    reason: EndedReason | None,
    by: ChangedBy,
    now: datetime,
) -> LifecycleEvent:
    return LifecycleEvent(
        participant_id=participant.id,
        from_status=current,
        to_status=to,
        reason=reason.value if reason else None,
        actor=by.kind,
        mentor_id=by.mentor_id,
        actor_name=by.name,
        occurred_at=now,
    )


async def leave(
    uow: UnitOfWork,
    participant: Participant,
    reason: EndedReason,
    *,
    by: ChangedBy,
    now: datetime,
    rhythm: Rhythm | None,
) -> LifecycleEvent:
    """Someone leaves the active phase: for work or studies into follow-up, else ended.
    Someone already in follow-up who leaves ends the contact."""
    if reason is EndedReason.DECLINED:
        raise LifecycleError("only an application is declined")
    if participant.status is ACTIVE and reason in WORK_OR_STUDIES:
        return await change_status(
            uow, participant, FOLLOW_UP, reason=reason, by=by, now=now, rhythm=rhythm
        )
    return await change_status(
        uow, participant, ENDED, reason=reason, by=by, now=now, rhythm=rhythm
    )


async def resume(
    uow: UnitOfWork,
    participant: Participant,
    *,
    by: ChangedBy,
    now: datetime,
    rhythm: Rhythm | None,
) -> LifecycleEvent:
    """Back to active: the job or course ended, or someone who left comes back."""
    return await change_status(uow, participant, ACTIVE, by=by, now=now, rhythm=rhythm)


async def history(uow: UnitOfWork, participant_id: int) -> Sequence[LifecycleEvent]:
    return await uow.repository(Lifecycle).of_participant(participant_id)


def may_act_on(mentor: Mentor, participant: Participant) -> bool:
    """A mentor acts on their own participants; a coordinator on everyone's."""
    return mentor.is_coordinator or participant.mentor_id == mentor.id
