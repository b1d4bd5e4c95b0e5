"""Steps toward work or studies (stegförflyttning), recorded by mentors.

Steps from check-in answers are recorded in `bot.domain.checkin.finish_activities`; here
a mentor records what they know from meetings. Either way a step has a kind, the date it
was taken, and who recorded it, which is what ESF reports count.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from storage.models import Participant, Step, StepKind, StepSource
from storage.models.progress import Steps
from storage.uow import UnitOfWork

NOTE_LIMIT = 1000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_kind(text: str) -> StepKind | None:
    """A step kind from its code as a mentor types it (`internship`, `job-search`)."""
    code = text.strip().lower().replace("-", "_")
    try:
        return StepKind(code)
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """A date written as 2026-03-01 (the one form nobody reads two ways)."""
    if not _DATE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


async def record_by_mentor(
    uow: UnitOfWork,
    *,
    participant: Participant,
    mentor_id: int,
    kind: StepKind,
    taken_on: date,
    now: datetime,
    note: str | None = None,
) -> Step:
    cleaned = note.strip()[:NOTE_LIMIT] if note else None
    return await uow.repository(Steps).add(
        Step(
            participant_id=participant.id,
            kind=kind,
            taken_on=taken_on,
            source=StepSource.MENTOR,
            recorded_by_mentor_id=mentor_id,
            note=cleaned or None,
            recorded_at=now,
        )
    )
