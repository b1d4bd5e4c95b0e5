"""Requests for help: open, share, route, widen, claim, answer, resolve, reopen.

Plain values in, rows and decisions out; no Telegram and no text here. The flows in
`bot/flows/help.py` (participants) and `bot/flows/cases.py` (mentors) and the SLA job
render what these functions decide (`bot/escalation_notices.py`).

The rules, in one place:
- A participant is asked before anything they wrote is shared. An urgent case (violence
  happening or threatened, suicide or self-harm) pages the mentor at once, with the topic
  and the matched terms only; the message itself follows when the participant says yes.
- A case goes to the participant's mentor; when nobody claims it in time, or that mentor
  cannot be reached, to mentors who speak the participant's language, then to the
  coordinators. Urgent: every 15 minutes. Otherwise: 09:00 on the next working day.
- Only a mentor who was told, the participant's own mentor or a coordinator may act on
  a case; once claimed, only the mentor who has it (or a coordinator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.schedule import QuietHours
from storage.escalations import ACTIVE, Escalations
from storage.models import (
    Circle,
    Escalation,
    EscalationCategory,
    EscalationMessage,
    EscalationSource,
    EscalationStatus,
    EventKind,
    Mentor,
    MessageKind,
    Participant,
    Sender,
)
from storage.uow import UnitOfWork

URGENT_RENOTIFY = timedelta(minutes=15)
WORKING_MORNING = time(9, 0)
REOPEN_WINDOW = timedelta(days=7)
# A participant who writes more than FLOOD_LIMIT messages within FLOOD_WINDOW: everything
# is stored, the rest is passed on in one go, and they get one kind answer per window.
FLOOD_WINDOW = timedelta(minutes=1)
FLOOD_LIMIT = 5
# What a participant wrote but never agreed to share is deleted after this long.
DRAFT_LIFETIME = timedelta(hours=24)
CIRCLES: tuple[Circle, ...] = (Circle.MENTOR, Circle.LANGUAGE, Circle.COORDINATORS)
# Normal cases do not wake mentors at night; urgent ones do.
NIGHT = QuietHours()


def repo(uow: UnitOfWork) -> Escalations:
    return uow.repository(Escalations)


# Working days and the SLA clock


@lru_cache(maxsize=16)
def _days_off(year: int) -> frozenset[date]:
    """Swedish public holidays and the eves treated as days off (midsummer, Christmas and
    New Year's Eve); weekends are checked separately."""
    days = holidays.country_holidays(
        "SE", years=year, include_sundays=False, categories=("public", "de_facto")
    )
    return frozenset(days.keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _days_off(day.year)


def next_working_morning(after: datetime, zone: ZoneInfo) -> datetime:
    """09:00 in the project's zone on the first working day after `after`'s local date."""
    day = after.astimezone(zone).date() + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, WORKING_MORNING, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def next_step_at(case: Escalation, now: datetime, zone: ZoneInfo) -> datetime:
    """When an unclaimed case is re-notified and widened next."""
    if case.urgent:
        return now + URGENT_RENOTIFY
    return next_working_morning(now, zone)


def opened_at(case: Escalation) -> datetime:
    """When the case's SLA clock started: when it was reopened, else when it reached a
    mentor (an urgent case at once, a normal one when the participant agreed to share)."""
    if case.reopened_at is not None:
        return case.reopened_at
    if case.urgent or case.shared_at is None:
        return case.created_at
    return case.shared_at


def claim_deadline(case: Escalation, zone: ZoneInfo) -> datetime:
    """By when someone should have claimed the case: 15 minutes if urgent, otherwise
    09:00 on the next working day."""
    start = opened_at(case)
    return start + URGENT_RENOTIFY if case.urgent else next_working_morning(start, zone)


def overdue(case: Escalation, now: datetime, zone: ZoneInfo) -> bool:
    """Unclaimed past its deadline, or claimed only after it."""
    if case.status is EscalationStatus.DRAFT:
        return False
    deadline = claim_deadline(case, zone)
    if case.status is EscalationStatus.OPEN:
        return now > deadline
    return case.claimed_at is not None and case.claimed_at > deadline


def notice_due(case: Escalation, now: datetime, zone: ZoneInfo) -> datetime:
    """When a notice about the case may reach a mentor: at once if urgent, otherwise
    not during the night."""
    return now if case.urgent else NIGHT.defer(now, zone)


# Starting a case


@dataclass(frozen=True)
class Incoming:
    """A message as plain values: text, or a Telegram file with an optional caption."""

    kind: MessageKind
    text: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    telegram_message_id: int | None = None


def category_of(triaged: str) -> EscalationCategory:
    """Triage says `none` for "something else"."""
    try:
        return EscalationCategory(triaged)
    except ValueError:
        return EscalationCategory.OTHER


async def open_case(
    uow: UnitOfWork,
    *,
    participant: Participant,
    category: EscalationCategory,
    urgent: bool,
    terms: Sequence[str],
    source: EscalationSource,
    now: datetime,
) -> Escalation:
    """A new case: a draft until the participant agrees to share, open at once if urgent."""
    case = await repo(uow).add(
        Escalation(
            participant_id=participant.id,
            category=category,
            urgent=urgent,
            status=EscalationStatus.OPEN if urgent else EscalationStatus.DRAFT,
            source=source,
            terms=list(dict.fromkeys(terms)),
            circle=Circle.MENTOR,
            created_at=now,
        )
    )
    repo(uow).add_event(case, EventKind.CREATED, now, detail="urgent" if urgent else None)
    return case


async def add_participant_message(
    uow: UnitOfWork, case: Escalation, incoming: Incoming, now: datetime
) -> EscalationMessage:
    message = await repo(uow).add_message(
        EscalationMessage(
            escalation_id=case.id,
            sender=Sender.PARTICIPANT,
            kind=incoming.kind,
            text=incoming.text,
            file_id=incoming.file_id,
            file_name=incoming.file_name,
            telegram_message_id=incoming.telegram_message_id,
            created_at=now,
        )
    )
    return message


def merge_triage(case: Escalation, category: EscalationCategory, terms: Sequence[str]) -> None:
    """A later message of a draft adds its evidence; a more serious topic wins."""
    case.terms = list(dict.fromkeys([*case.terms, *terms]))
    serious = (EscalationCategory.VIOLENCE, EscalationCategory.HEALTH)
    if category in serious and case.category not in serious:
        case.category = category


# Who is told


def reachable(mentor: Mentor | None) -> bool:
    return (
        mentor is not None
        and mentor.active
        and mentor.telegram_user_id is not None
        and mentor.unreachable_at is None
    )


async def circle_members(
    uow: UnitOfWork, case: Escalation, participant: Participant, circle: Circle
) -> list[Mentor]:
    if circle is Circle.MENTOR:
        # A reopened case goes back to whoever had it; otherwise to the own mentor.
        first_id = case.assigned_mentor_id or participant.mentor_id
        mentor = await uow.mentors.get(first_id) if first_id else None
        return [mentor] if mentor is not None and reachable(mentor) else []
    if circle is Circle.LANGUAGE:
        return [
            mentor
            for mentor in await repo(uow).mentors_speaking(participant.locale)
            if not mentor.is_coordinator and mentor.id != participant.mentor_id
        ]
    return list(await repo(uow).coordinators())


@dataclass
class Paging:
    """Whom to tell now: `new` hear of the case for the first time, `again` are
    reminded that it is still unclaimed."""

    new: list[Mentor] = field(default_factory=list)
    again: list[Mentor] = field(default_factory=list)

    @property
    def anyone(self) -> bool:
        return bool(self.new or self.again)


async def route(
    uow: UnitOfWork, case: Escalation, participant: Participant, now: datetime, zone: ZoneInfo
) -> Paging:
    """The first circle, from the case's own, that has someone who can be reached."""
    start = CIRCLES.index(case.circle)
    for circle in CIRCLES[start:]:
        members = await circle_members(uow, case, participant, circle)
        if members:
            case.circle = circle
            _notified(uow, case, members, circle, now)
            case.next_action_at = next_step_at(case, now, zone)
            return Paging(new=members)
    repo(uow).add_event(case, EventKind.UNREACHABLE, now)
    case.circle = Circle.COORDINATORS
    case.next_action_at = now + URGENT_RENOTIFY
    return Paging()


def _notified(
    uow: UnitOfWork, case: Escalation, mentors: Sequence[Mentor], circle: Circle, now: datetime
) -> None:
    for mentor in mentors:
        repo(uow).add_event(case, EventKind.NOTIFIED, now, mentor_id=mentor.id, circle=circle)


async def widen(
    uow: UnitOfWork, case: Escalation, participant: Participant, now: datetime, zone: ZoneInfo
) -> Paging:
    """Nobody claimed in time: remind everyone told so far and tell the next circle."""
    told = await repo(uow).notified_mentor_ids(case.id)
    again = [
        mentor for mentor in [await uow.mentors.get(mentor_id) for mentor_id in told] if mentor
    ]
    again = [mentor for mentor in again if reachable(mentor)]
    paging = Paging(again=again)
    index = CIRCLES.index(case.circle)
    for circle in CIRCLES[index + 1 :]:
        members = [
            mentor
            for mentor in await circle_members(uow, case, participant, circle)
            if mentor.id not in told
        ]
        if members:
            case.circle = circle
            _notified(uow, case, members, circle, now)
            repo(uow).add_event(case, EventKind.WIDENED, now, circle=circle)
            paging.new = members
            break
    if not paging.new and not told:
        # Nobody was ever reachable: try every circle again from the start.
        case.circle = Circle.MENTOR
        return await route(uow, case, participant, now, zone)
    for mentor in paging.again:
        repo(uow).add_event(case, EventKind.REMINDED, now, mentor_id=mentor.id, circle=case.circle)
    case.next_action_at = next_step_at(case, now, zone)
    return paging


# The participant decides


async def share(
    uow: UnitOfWork, case: Escalation, participant: Participant, now: datetime, zone: ZoneInfo
) -> Paging:
    """The participant said yes. A draft becomes an open case and is routed; an urgent
    case was routed already, and its mentors now get the message itself."""
    case.shared_at = now
    repo(uow).add_event(case, EventKind.SHARED, now)
    if case.status is EscalationStatus.DRAFT:
        case.status = EscalationStatus.OPEN
        return await route(uow, case, participant, now, zone)
    return Paging(new=await recipients(uow, case))


async def withhold(uow: UnitOfWork, case: Escalation, now: datetime) -> bool:
    """The participant said no: their words are deleted. A draft goes altogether (True);
    an urgent case stays, with only its topic and terms (False)."""
    if case.status is EscalationStatus.DRAFT:
        await repo(uow).delete(case)
        return True
    await repo(uow).delete_unrelayed(case.id)
    repo(uow).add_event(case, EventKind.WITHHELD, now)
    return False


async def make_urgent(
    uow: UnitOfWork,
    case: Escalation,
    category: EscalationCategory,
    terms: Sequence[str],
    now: datetime,
) -> None:
    """A message in an ongoing case speaks of danger: the case becomes urgent."""
    case.urgent = True
    merge_triage(case, category, terms)
    repo(uow).add_event(case, EventKind.URGENT, now, detail=category.value)
    if case.status is EscalationStatus.OPEN:
        case.next_action_at = now + URGENT_RENOTIFY


async def active_case(uow: UnitOfWork, participant: Participant) -> Escalation | None:
    """The participant's newest case that is open or claimed and in conversation: shared,
    or answered by a mentor."""
    for case in await repo(uow).of_participant(participant.id, ACTIVE):
        if case.shared_at is not None or case.first_response_at is not None:
            return case
    return None


async def recipients(uow: UnitOfWork, case: Escalation) -> list[Mentor]:
    """Who reads what the participant writes now: the mentor who has the case, or
    everyone told while nobody has it."""
    if case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id is not None:
        mentor = await uow.mentors.get(case.assigned_mentor_id)
        return [mentor] if mentor is not None and reachable(mentor) else []
    mentors = [
        await uow.mentors.get(mentor_id)
        for mentor_id in await repo(uow).notified_mentor_ids(case.id)
    ]
    return [mentor for mentor in mentors if mentor is not None and reachable(mentor)]


class Flood(StrEnum):
    NO = "no"
    HOLD = "hold"  # store, pass on later; the participant was told already in this window
    HOLD_AND_TELL = "hold_and_tell"  # store, pass on later, and say so kindly once


async def flood(uow: UnitOfWork, participant: Participant, now: datetime) -> Flood:
    """Is the participant writing faster than a mentor can follow? (counts what is stored)"""
    since = now - FLOOD_WINDOW
    if await repo(uow).recent_from_participant(participant.id, since) < FLOOD_LIMIT:
        return Flood.NO
    told = await repo(uow).last_event_at(participant.id, EventKind.HELD, since)
    return Flood.HOLD if told is not None else Flood.HOLD_AND_TELL


def may_reopen(case: Escalation, participant: Participant, now: datetime) -> bool:
    return (
        case.participant_id == participant.id
        and case.status is EscalationStatus.RESOLVED
        and case.resolved_at is not None
        and now - case.resolved_at <= REOPEN_WINDOW
    )


async def reopen(
    uow: UnitOfWork, case: Escalation, participant: Participant, now: datetime, zone: ZoneInfo
) -> Paging:
    """Back to whoever had it (then wider, as for a new case)."""
    case.status = EscalationStatus.OPEN
    case.reopened_at = now
    case.resolved_at = None
    case.claimed_at = None
    case.circle = Circle.MENTOR
    repo(uow).add_event(case, EventKind.REOPENED, now)
    return await route(uow, case, participant, now, zone)


# Mentors act


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # not told about it, not the mentor, not a coordinator
    TAKEN = "taken"  # another mentor has it
    RESOLVED = "resolved"
    NOT_SHARED = "not_shared"  # a draft: nothing to act on yet


@dataclass(frozen=True)
class Decision:
    refusal: Refusal | None = None
    claimed_now: bool = False
    holder: Mentor | None = None


async def may_see(uow: UnitOfWork, case: Escalation, mentor: Mentor) -> bool:
    """A mentor may see a case they were told about, of their own participant, or as a
    coordinator. Forged callback data for anyone else's case is refused here."""
    if mentor.is_coordinator or case.assigned_mentor_id == mentor.id:
        return True
    participant = await uow.participants.get(case.participant_id)
    if participant is not None and participant.mentor_id == mentor.id:
        return True
    return mentor.id in await repo(uow).notified_mentor_ids(case.id)


async def take(
    uow: UnitOfWork,
    case: Escalation,
    mentor: Mentor,
    now: datetime,
    *,
    allow_resolved: bool = False,
) -> Decision:
    """Claim the case, or confirm the mentor has it; the same check for reply and resolve."""
    if case.status is EscalationStatus.DRAFT or not await may_see(uow, case, mentor):
        return Decision(
            Refusal.NOT_ALLOWED if case.status is not EscalationStatus.DRAFT else Refusal.NOT_SHARED
        )
    if case.status is EscalationStatus.RESOLVED and not allow_resolved:
        return Decision(Refusal.RESOLVED)
    if case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id != mentor.id:
        holder = await uow.mentors.get(case.assigned_mentor_id) if case.assigned_mentor_id else None
        if not mentor.is_coordinator:
            return Decision(Refusal.TAKEN, holder=holder)
    if case.status is EscalationStatus.OPEN:
        case.status = EscalationStatus.CLAIMED
        case.assigned_mentor_id = mentor.id
        case.claimed_at = now
        case.next_action_at = None
        repo(uow).add_event(case, EventKind.CLAIMED, now, mentor_id=mentor.id)
        return Decision(claimed_now=True, holder=mentor)
    return Decision(holder=mentor)


async def mentor_message(
    uow: UnitOfWork, case: Escalation, mentor: Mentor, incoming: Incoming, now: datetime
) -> EscalationMessage:
    """A mentor's answer, stored before it is sent; the first one is the first response."""
    message = await repo(uow).add_message(
        EscalationMessage(
            escalation_id=case.id,
            sender=Sender.MENTOR,
            mentor_id=mentor.id,
            kind=incoming.kind,
            text=incoming.text,
            file_id=incoming.file_id,
            file_name=incoming.file_name,
            telegram_message_id=incoming.telegram_message_id,
            created_at=now,
            relayed_at=now,
        )
    )
    if case.first_response_at is None:
        case.first_response_at = now
    repo(uow).add_event(case, EventKind.REPLIED, now, mentor_id=mentor.id)
    return message


def release(uow: UnitOfWork, case: Escalation, now: datetime) -> None:
    """The mentor who had the case cannot be reached (they blocked the bot, or left): it
    is open again, to be routed and widened like a new one."""
    case.status = EscalationStatus.OPEN
    case.assigned_mentor_id = None
    case.claimed_at = None
    case.circle = Circle.MENTOR
    repo(uow).add_event(case, EventKind.REOPENED, now, detail="holder unreachable")


async def reassign(
    uow: UnitOfWork, case: Escalation, mentor: Mentor, now: datetime, *, by: Mentor | None = None
) -> Refusal | None:
    """Give the case to `mentor` (staff, a coordinator, or the mentor who has it, decide
    who may). An open case counts as claimed from now on; the SLA job leaves it alone."""
    if case.status is EscalationStatus.DRAFT:
        return Refusal.NOT_SHARED
    if case.status is EscalationStatus.RESOLVED:
        return Refusal.RESOLVED
    if not mentor.active:
        return Refusal.NOT_ALLOWED
    if case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id == mentor.id:
        return None
    case.status = EscalationStatus.CLAIMED
    case.assigned_mentor_id = mentor.id
    if case.claimed_at is None:
        case.claimed_at = now
    case.next_action_at = None
    repo(uow).add_event(
        case, EventKind.REASSIGNED, now, mentor_id=mentor.id, detail=f"by {by.id}" if by else None
    )
    return None


def resolve(uow: UnitOfWork, case: Escalation, mentor: Mentor | None, now: datetime) -> None:
    """Done. `mentor` is None when project staff without a mentor's role close it."""
    case.status = EscalationStatus.RESOLVED
    case.resolved_at = now
    case.next_action_at = None
    repo(uow).add_event(
        case,
        EventKind.RESOLVED,
        now,
        mentor_id=mentor.id if mentor else None,
        detail=None if mentor else "staff",
    )
