"""The ESF report for a date range: participants by cohort and gender, and one row each.

ESF projects report how many took part, for women and men separately (and, once steps
and exits are recorded, how many made a step and how many left for work or studies).
The report holds nothing more personal than that needs: the pseudonymous id (so the
project can reconcile it with its own records), cohort, gender, the date of joining,
status and the reason for leaving. No names, no Telegram ids, no languages, no free
text; an erased participant is counted but has no id in the rows.

Dates are whole days in the project's time zone; the period includes both ends.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.onboarding import DomainError
from bot.domain.overview import GENDERS, NOT_RECORDED, gender_key
from storage.models import ParticipantStatus
from storage.reporting import Figures
from storage.uow import UnitOfWork

MAX_PERIOD = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError("the period ends before it starts")
        if self.end - self.start > MAX_PERIOD:
            raise DomainError("a report covers at most three years")

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in the project's zone."""
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}--{self.end.isoformat()}"


@dataclass(frozen=True)
class SummaryRow:
    cohort: str
    gender: str  # woman, man, other, not_recorded
    joined_before: int  # already taking part when the period began
    joined_in_period: int
    total: int  # took part at some time up to the end of the period


@dataclass(frozen=True)
class ParticipantRow:
    public_id: str  # empty for a participant who erased their data
    cohort: str
    gender: str
    joined: date
    status: ParticipantStatus
    ended_reason: str


@dataclass(frozen=True)
class Report:
    period: Period
    summary: list[SummaryRow]
    participants: list[ParticipantRow]


async def build(uow: UnitOfWork, period: Period, zone: ZoneInfo) -> Report:
    start, end = period.bounds(zone)
    figures = uow.repository(Figures)
    cohorts = await figures.cohort_names()
    before: Counter[tuple[str, str]] = Counter()
    during: Counter[tuple[str, str]] = Counter()
    rows: list[ParticipantRow] = []
    for participant in await figures.joined_until(end):
        cohort = cohorts.get(participant.cohort_id or 0, "")
        gender = gender_key(participant.gender)
        (during if participant.joined_at >= start else before)[(cohort, gender)] += 1
        rows.append(
            ParticipantRow(
                public_id="" if participant.erased else participant.public_id,
                cohort=cohort,
                gender=gender,
                joined=participant.joined_at.astimezone(zone).date(),
                status=participant.status,
                ended_reason=participant.ended_reason or "",
            )
        )
    order = {key: index for index, key in enumerate((*GENDERS, NOT_RECORDED))}
    keys = sorted(set(before) | set(during), key=lambda key: (key[0], order[key[1]]))
    summary = [
        SummaryRow(
            cohort=cohort,
            gender=gender,
            joined_before=before[(cohort, gender)],
            joined_in_period=during[(cohort, gender)],
            total=before[(cohort, gender)] + during[(cohort, gender)],
        )
        for cohort, gender in keys
    ]
    return Report(period=period, summary=summary, participants=rows)
