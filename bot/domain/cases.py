"""Requests for help as the dashboard shows them: the queue, one case, and who may act.

The rules of a case (who may see it, claim, resolve) are in `bot/domain/escalation.py`;
this module applies them to a signed-in `Viewer`. Project staff see every case. A mentor
signed in sees the cases they may see in Telegram too (`escalation.may_see`: their own
participants', cases they were told about or have, everything for a coordinator). A draft
(the participant has not yet agreed to share) is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain import escalation
from bot.domain.audit import Viewer
from storage.escalations import Escalations
from storage.models import (
    Circle,
    Escalation,
    EscalationCategory,
    EscalationStatus,
    EventKind,
    Mentor,
    MessageKind,
    Participant,
    Sender,
)
from storage.uow import UnitOfWork

SHOWN_STATUSES = (EscalationStatus.OPEN, EscalationStatus.CLAIMED, EscalationStatus.RESOLVED)
QUEUE_LIMIT = 200


class Access(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class QueueLine:
    id: int
    participant_public_id: str
    participant_id: int
    category: EscalationCategory
    urgent: bool
    status: EscalationStatus
    mentor: str | None  # who has it
    opened_at: datetime
    deadline: datetime  # by when it should be claimed
    waited: timedelta  # unclaimed: how long so far; claimed or resolved: until it was claimed
    overdue: bool  # unclaimed past the deadline, or claimed after it
    claimed_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ShownMessage:
    at: datetime
    from_participant: bool
    mentor: str | None
    kind: MessageKind
    text: str | None


@dataclass(frozen=True)
class ShownEvent:
    at: datetime
    kind: EventKind
    mentor: str | None
    circle: Circle | None


@dataclass(frozen=True)
class CaseView:
    line: QueueLine
    case: Escalation
    participant: Participant
    terms: list[str]
    shared: bool  # the participant agreed that their words may be read
    messages: list[ShownMessage]
    events: list[ShownEvent]
    may_claim: bool
    may_reassign: bool
    may_resolve: bool
    mentors: list[tuple[int, str]]  # whom it may be given to


def repo(uow: UnitOfWork) -> Escalations:
    return uow.repository(Escalations)


async def acting_mentor(uow: UnitOfWork, viewer: Viewer) -> Mentor | None:
    """The mentor the signed-in account is, if any (staff may be one too)."""
    if viewer.mentor_id is None:
        return None
    mentor = await uow.mentors.get(viewer.mentor_id)
    return mentor if mentor is not None and mentor.active else None


async def may_see(uow: UnitOfWork, viewer: Viewer, case: Escalation) -> bool:
    if case.status is EscalationStatus.DRAFT:
        return False
    if viewer.sees_everything:
        return True
    mentor = await acting_mentor(uow, viewer)
    return mentor is not None and await escalation.may_see(uow, case, mentor)


def _waited(case: Escalation, now: datetime) -> timedelta:
    until = case.claimed_at if case.status is not EscalationStatus.OPEN else None
    return max((until or now) - escalation.opened_at(case), timedelta(0))


async def _line(
    uow: UnitOfWork,
    case: Escalation,
    now: datetime,
    zone: ZoneInfo,
    names: dict[int, str],
    participant: Participant | None = None,
) -> QueueLine:
    if participant is None:
        participant = await uow.participants.get(case.participant_id)
    holder = case.assigned_mentor_id
    return QueueLine(
        id=case.id,
        participant_public_id=participant.public_id if participant else "?",
        participant_id=case.participant_id,
        category=case.category,
        urgent=case.urgent,
        status=case.status,
        mentor=names.get(holder) if holder is not None else None,
        opened_at=escalation.opened_at(case),
        deadline=escalation.claim_deadline(case, zone),
        waited=_waited(case, now),
        overdue=escalation.overdue(case, now, zone),
        claimed_at=case.claimed_at,
        resolved_at=case.resolved_at,
    )


async def _mentor_names(uow: UnitOfWork) -> dict[int, str]:
    return {mentor.id: mentor.name for mentor in await uow.mentors.all()}


async def queue(
    uow: UnitOfWork,
    viewer: Viewer,
    status: EscalationStatus,
    now: datetime,
    zone: ZoneInfo,
) -> list[QueueLine]:
    """The cases in `status` the viewer may see. Waiting and claimed: urgent first, then
    the one whose deadline is nearest (or longest past). Resolved: newest first."""
    names = await _mentor_names(uow)
    lines = [
        await _line(uow, case, now, zone, names)
        for case in await repo(uow).in_status(status, QUEUE_LIMIT)
        if await may_see(uow, viewer, case)
    ]
    if status is not EscalationStatus.RESOLVED:
        lines.sort(key=lambda line: (not line.urgent, line.deadline, line.id))
    return lines


async def find(
    uow: UnitOfWork, viewer: Viewer, case_id: int, *, lock: bool = False
) -> tuple[Access, Escalation | None]:
    case = await repo(uow).get(case_id, lock=lock)
    if case is None or case.status is EscalationStatus.DRAFT:
        return Access.NOT_FOUND, None
    if not await may_see(uow, viewer, case):
        return Access.REFUSED, case
    return Access.ALLOWED, case


async def may_reassign(uow: UnitOfWork, viewer: Viewer, case: Escalation) -> bool:
    """Staff, a coordinator, or the mentor who has the case may hand it on."""
    if case.status not in (EscalationStatus.OPEN, EscalationStatus.CLAIMED):
        return False
    if viewer.sees_everything:
        return True
    mentor = await acting_mentor(uow, viewer)
    return mentor is not None and (mentor.is_coordinator or case.assigned_mentor_id == mentor.id)


async def may_resolve(uow: UnitOfWork, viewer: Viewer, case: Escalation) -> bool:
    """Project staff; otherwise whoever may take it (the Telegram flow's rule): any mentor
    who sees it while it waits, then the mentor who has it or a coordinator."""
    return await resolving_mentor(uow, viewer, case) is not None or (
        viewer.sees_everything and case.status in (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
    )


async def resolving_mentor(uow: UnitOfWork, viewer: Viewer, case: Escalation) -> Mentor | None:
    """The mentor in whose name the viewer closes the case, if they close it as one (the
    participant is told that mentor's first name); None for staff acting as staff."""
    if case.status not in (EscalationStatus.OPEN, EscalationStatus.CLAIMED):
        return None
    mentor = await acting_mentor(uow, viewer)
    if mentor is None or not await escalation.may_see(uow, case, mentor):
        return None
    if case.status is EscalationStatus.OPEN or mentor.is_coordinator:
        return mentor
    return mentor if case.assigned_mentor_id == mentor.id else None


async def view(
    uow: UnitOfWork, viewer: Viewer, case: Escalation, now: datetime, zone: ZoneInfo
) -> CaseView:
    """One case with what may be read of it. Before the participant agreed to share
    (an urgent case pages mentors at once), only the topic and matched terms are shown."""
    participant = await uow.participants.get(case.participant_id)
    assert participant is not None
    names = await _mentor_names(uow)
    shared = case.shared_at is not None
    messages = [
        ShownMessage(
            at=message.created_at,
            from_participant=message.sender is Sender.PARTICIPANT,
            mentor=names.get(message.mentor_id) if message.mentor_id else None,
            kind=message.kind,
            text=message.text,
        )
        for message in await repo(uow).messages(case.id)
        if message.sender is Sender.MENTOR or shared or message.relayed_at is not None
    ]
    events = [
        ShownEvent(
            at=event.at,
            kind=event.kind,
            mentor=names.get(event.mentor_id) if event.mentor_id else None,
            circle=event.circle,
        )
        for event in await repo(uow).events(case.id)
    ]
    mentor = await acting_mentor(uow, viewer)
    reassignable = await may_reassign(uow, viewer, case)
    return CaseView(
        line=await _line(uow, case, now, zone, names, participant),
        case=case,
        participant=participant,
        terms=list(case.terms),
        shared=shared,
        messages=messages,
        events=events,
        may_claim=mentor is not None and case.status is EscalationStatus.OPEN,
        may_reassign=reassignable,
        may_resolve=await may_resolve(uow, viewer, case),
        mentors=await mentor_choices(uow, case) if reassignable else [],
    )


async def mentor_choices(uow: UnitOfWork, case: Escalation) -> list[tuple[int, str]]:
    """Active mentors the case may go to, the one who has it left out."""
    return sorted(
        (
            (mentor.id, mentor.name)
            for mentor in await uow.mentors.all()
            if mentor.active and mentor.id != case.assigned_mentor_id
        ),
        key=lambda choice: choice[1],
    )


@dataclass(frozen=True)
class CategoryCount:
    category: EscalationCategory
    waiting: int  # nobody has claimed it
    overdue: int  # waiting past the deadline
    claimed: int
    oldest_waiting: timedelta | None


async def open_by_category(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> list[CategoryCount]:
    """Open and claimed cases the viewer may see, per category, against the SLA."""
    waiting = await queue(uow, viewer, EscalationStatus.OPEN, now, zone)
    claimed = await queue(uow, viewer, EscalationStatus.CLAIMED, now, zone)
    counts = []
    for category in EscalationCategory:
        mine = [line for line in waiting if line.category is category]
        held = [line for line in claimed if line.category is category]
        if not mine and not held:
            continue
        counts.append(
            CategoryCount(
                category=category,
                waiting=len(mine),
                overdue=sum(1 for line in mine if line.overdue),
                claimed=len(held),
                oldest_waiting=max((line.waited for line in mine), default=None),
            )
        )
    return counts


def parse_status(value: str | None) -> EscalationStatus:
    for status in SHOWN_STATUSES:
        if value == status.value:
            return status
    return EscalationStatus.OPEN
