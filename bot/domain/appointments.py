"""Appointments a mentor sets with a participant, their reminders and the answer.

Plain values in, rows out; no Telegram here. The reminders flow parses what the mentor
typed with these functions, saves the appointment, and renders the reminder messages in
the participant's language into the outbox (due 24 and 1 hours before, by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from storage.models import (
    Appointment,
    AppointmentAnswer,
    AppointmentStatus,
    Mentor,
    Participant,
    ParticipantStatus,
)
from storage.reminders import Appointments
from storage.uow import UnitOfWork

PLACE_LIMIT = 200
NOTE_LIMIT = 1000
FURTHEST = timedelta(days=366)
# An answer still counts a while after the start: someone running late says they come.
ANSWER_GRACE = timedelta(hours=1)


class Problem(StrEnum):
    BAD_DATE = "bad_date"
    BAD_TIME = "bad_time"
    PAST = "past"
    TOO_FAR = "too_far"
    NO_PLACE = "no_place"
    TOO_LONG = "too_long"
    NOT_YOURS = "not_yours"
    CANCELLED = "cancelled"
    OVER = "over"


class AppointmentProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?$")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")


def parse_date(text: str, today: date) -> date:
    """2026-12-03, 3/12 or 3.12 (day first, as in Sweden), 3/12/2026; the next such day."""
    text = text.strip()
    try:
        if match := _ISO.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DAY_MONTH.match(text):
            day, month = int(match[1]), int(match[2])
            if match[3]:
                year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
                return date(year, month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        pass
    raise AppointmentProblem(Problem.BAD_DATE)


def parse_time(text: str) -> time:
    """14:30, 14.30 or 14."""
    match = _CLOCK.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2] or 0) > 59:
        raise AppointmentProblem(Problem.BAD_TIME)
    return time(int(match[1]), int(match[2] or 0))


def starts_at(day: date, at: time, zone: ZoneInfo, now: datetime) -> datetime:
    """The moment, in UTC, of a local date and time; refused when past or too far off."""
    moment = datetime.combine(day, at, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    if moment <= now:
        raise AppointmentProblem(Problem.PAST)
    if moment - now > FURTHEST:
        raise AppointmentProblem(Problem.TOO_FAR)
    return moment


def split_place_and_note(text: str) -> tuple[str, str | None]:
    """The place on the first line (or before '|'), a note after it."""
    head, sep, tail = text.partition("|") if "|" in text else text.partition("\n")
    place = " ".join(head.split())
    note = tail.strip() if sep else ""
    if not place:
        raise AppointmentProblem(Problem.NO_PLACE)
    if len(place) > PLACE_LIMIT or len(note) > NOTE_LIMIT:
        raise AppointmentProblem(Problem.TOO_LONG)
    return place, note or None


@dataclass(frozen=True)
class OneLine:
    public_id: str
    day: str
    time: str
    rest: str


def parse_one_line(args: str) -> OneLine | None:
    """`P7K3Q 2026-12-03 14:00 Place | note`, or None when it is not in that shape."""
    parts = args.strip().split(maxsplit=3)
    if len(parts) < 4:
        return None
    return OneLine(parts[0].upper(), parts[1], parts[2], parts[3])


def reminder_times(start: datetime, hours: list[int], now: datetime) -> list[tuple[int, datetime]]:
    """(hours before, when) for each reminder still in the future."""
    return [
        (offset, start - timedelta(hours=offset))
        for offset in sorted(set(hours), reverse=True)
        if start - timedelta(hours=offset) > now
    ]


async def participants_of(uow: UnitOfWork, mentor: Mentor) -> list[Participant]:
    """A mentor's own participants who can be reminded (not left, not erased)."""
    found = await uow.participants.of_mentor(
        mentor.id,
        [ParticipantStatus.APPLIED, ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP],
    )
    return [p for p in found if p.erased_at is None and p.chat_id is not None]


async def own_participant(uow: UnitOfWork, mentor: Mentor, public_id: str) -> Participant:
    """Only the mentor's own participants; others look exactly like unknown ids."""
    participant = await uow.participants.by_public_id(public_id.strip())
    if (
        participant is None
        or participant.mentor_id != mentor.id
        or participant.erased_at is not None
        or participant.chat_id is None
        or participant.status is ParticipantStatus.ENDED
    ):
        raise AppointmentProblem(Problem.NOT_YOURS)
    return participant


async def schedule(
    uow: UnitOfWork,
    *,
    mentor: Mentor,
    participant: Participant,
    at: datetime,
    place: str,
    note: str | None,
    now: datetime,
) -> Appointment:
    if participant.mentor_id != mentor.id:
        raise AppointmentProblem(Problem.NOT_YOURS)
    if at <= now:
        raise AppointmentProblem(Problem.PAST)
    return await uow.repository(Appointments).add(
        Appointment(
            participant_id=participant.id,
            mentor_id=mentor.id,
            starts_at=at,
            place=place,
            note=note,
            status=AppointmentStatus.SCHEDULED,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class Answered:
    appointment: Appointment
    changed: bool  # False when the participant pressed the same answer again


async def answer(
    uow: UnitOfWork,
    *,
    participant: Participant,
    appointment_id: int,
    answer: AppointmentAnswer,
    now: datetime,
) -> Answered:
    appointment = await uow.repository(Appointments).get(appointment_id)
    if appointment is None or appointment.participant_id != participant.id:
        raise AppointmentProblem(Problem.NOT_YOURS)
    if appointment.status is AppointmentStatus.CANCELLED:
        raise AppointmentProblem(Problem.CANCELLED)
    if appointment.starts_at + ANSWER_GRACE < now:
        raise AppointmentProblem(Problem.OVER)
    changed = appointment.answer is not answer
    appointment.answer = answer
    appointment.answered_at = now
    return Answered(appointment, changed)


@dataclass(frozen=True)
class Cancelled:
    appointment: Appointment
    participant_was_reminded: bool


async def cancel(
    uow: UnitOfWork, *, mentor: Mentor, appointment_id: int, now: datetime
) -> Cancelled:
    repo = uow.repository(Appointments)
    appointment = await repo.get(appointment_id)
    if appointment is None or appointment.mentor_id != mentor.id:
        raise AppointmentProblem(Problem.NOT_YOURS)
    if appointment.status is AppointmentStatus.CANCELLED:
        raise AppointmentProblem(Problem.CANCELLED)
    if appointment.starts_at < now:
        raise AppointmentProblem(Problem.OVER)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    await repo.stop_reminders(appointment.id, "appointment cancelled")
    return Cancelled(appointment, await repo.reminders_sent(appointment.id) > 0)
