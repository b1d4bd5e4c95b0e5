"""What a mentor sees of their own participants, and nothing of anyone else's.

Every read goes through `own_participant`, which answers None both for an id that does
not exist and for someone else's participant, so a refusal never tells a mentor whether
another mentor's participant exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.checkin import CheckinCounts, checkin_counts, mood_trend
from bot.domain.selfrating import Instrument, Occasion, history
from storage.models import (
    Checkin,
    FlagKind,
    Participant,
    ParticipantFlag,
    ParticipantSchedule,
    ParticipantStatus,
    ScheduleKind,
    Step,
)
from storage.models.progress import Checkins, Flags, Schedules, Steps
from storage.uow import UnitOfWork

STATISTICS_WINDOW = timedelta(days=28)
TREND_LENGTH = 4
OVERVIEW_CHECKINS = 8
SHOWN_STATUSES = (ParticipantStatus.APPLIED, ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)
_PUBLIC_ID = re.compile(r"^[A-Z0-9]{2,16}$")


def normalize_public_id(text: str) -> str | None:
    """The id as stored (upper case), or None for something that cannot be one."""
    candidate = text.strip().upper()
    return candidate if _PUBLIC_ID.match(candidate) else None


async def own_participant(uow: UnitOfWork, mentor_id: int, public_id: str) -> Participant | None:
    """This mentor's participant with that id; None for unknown, erased or someone else's."""
    participant = await uow.participants.by_public_id(public_id)
    if participant is None or participant.mentor_id != mentor_id or participant.erased_at:
        return None
    return participant


@dataclass(frozen=True)
class CaseloadEntry:
    participant: Participant
    latest: Checkin | None
    moods: list[int]
    flags: list[FlagKind]
    steps: int


@dataclass(frozen=True)
class Caseload:
    entries: list[CaseloadEntry]
    counts: CheckinCounts


async def caseload(uow: UnitOfWork, mentor_id: int, now: datetime) -> Caseload:
    """The mentor's participants with their last check-in, mood trend, flags and steps;
    a handful of queries however many participants there are."""
    people = [
        participant
        for participant in await uow.participants.of_mentor(mentor_id, SHOWN_STATUSES)
        if participant.erased_at is None
    ]
    ids = [participant.id for participant in people]
    latest = await uow.repository(Checkins).latest_of_many(ids, TREND_LENGTH + 2)
    flags = await uow.repository(Flags).open_of_many(ids)
    steps = await uow.repository(Steps).counts_of_many(ids)
    entries = [
        CaseloadEntry(
            participant=participant,
            latest=latest[participant.id][0] if latest[participant.id] else None,
            moods=mood_trend(latest[participant.id], TREND_LENGTH),
            flags=flags.get(participant.id, []),
            steps=steps.get(participant.id, 0),
        )
        for participant in people
    ]
    counts = await checkin_counts(uow, ids, now - STATISTICS_WINDOW)
    return Caseload(entries, counts)


@dataclass(frozen=True)
class Overview:
    participant: Participant
    schedule: ParticipantSchedule | None
    checkins: Sequence[Checkin]
    steps: Sequence[Step]
    flags: Sequence[ParticipantFlag]
    ratings: list[Occasion]


async def overview(uow: UnitOfWork, participant: Participant, instrument: Instrument) -> Overview:
    return Overview(
        participant=participant,
        schedule=await uow.repository(Schedules).get(participant.id, ScheduleKind.CHECKIN),
        checkins=await uow.repository(Checkins).latest(participant.id, OVERVIEW_CHECKINS),
        steps=await uow.repository(Steps).of(participant.id),
        flags=await uow.repository(Flags).open_of(participant.id),
        ratings=await history(uow, participant.id, instrument),
    )


async def resolve_flags(uow: UnitOfWork, participant_id: int, mentor_id: int, now: datetime) -> int:
    """The mentor has looked: close the open flags so the next hard weeks raise a new one."""
    flags = await uow.repository(Flags).open_of(participant_id)
    for flag in flags:
        flag.resolved_at = now
        flag.resolved_by_mentor_id = mentor_id
    return len(flags)
