"""The figures on the dashboard's first page, within the viewer's scope.

Each figure is a plain function of (unit of work, viewer, now, zone). The web edge lists
them as overview sections, so a feature that lands later (check-in answer rate, open
escalations against their SLA, steps this month, progress toward the project's goals)
adds one function and one small template, and touches nothing here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import Viewer
from storage.models import ParticipantStatus
from storage.reporting import Figures
from storage.uow import UnitOfWork

WEEKS_SHOWN = 12
GENDERS = ("woman", "man", "other")
NOT_RECORDED = "not_recorded"
# The statuses of someone still in the project, in the order the table shows them.
OPEN_STATUSES = (ParticipantStatus.APPLIED, ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)


def gender_key(value: str | None) -> str:
    """The report's vocabulary: woman, man, other, or not recorded."""
    return value if value in GENDERS else NOT_RECORDED


@dataclass(frozen=True)
class CohortCounts:
    cohort_id: int | None
    cohort: str
    counts: dict[ParticipantStatus, int]

    @property
    def taking_part(self) -> int:
        return sum(self.counts.get(status, 0) for status in OPEN_STATUSES)


@dataclass(frozen=True)
class Participation:
    cohorts: list[CohortCounts]
    totals: dict[ParticipantStatus, int]
    by_gender: list[tuple[str, int]]
    unreachable: int

    @property
    def active(self) -> int:
        return self.totals.get(ParticipantStatus.ACTIVE, 0)


@dataclass(frozen=True)
class WeeklyJoins:
    weeks: list[tuple[date, int]]

    @property
    def total(self) -> int:
        return sum(count for _week, count in self.weeks)


async def participation(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> Participation:
    """Participants per cohort and status (erased rows left out), and active by gender."""
    figures = uow.repository(Figures)
    names = await figures.cohort_names()
    per_cohort: dict[int | None, dict[ParticipantStatus, int]] = {}
    totals: Counter[ParticipantStatus] = Counter()
    for cohort_id, status, count in await figures.status_by_cohort(viewer.scope):
        per_cohort.setdefault(cohort_id, {})[status] = count
        totals[status] += count
    genders: Counter[str] = Counter()
    for gender, count in await figures.gender_of_active(viewer.scope):
        genders[gender_key(gender)] += count
    return Participation(
        cohorts=sorted(
            (
                CohortCounts(cohort_id, names.get(cohort_id or 0, ""), counts)
                for cohort_id, counts in per_cohort.items()
            ),
            key=lambda line: line.cohort,
        ),
        totals=dict(totals),
        by_gender=[(key, genders[key]) for key in (*GENDERS, NOT_RECORDED) if genders[key]],
        unreachable=await figures.unreachable_count(viewer.scope),
    )


def week_start(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


async def joins_per_week(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> WeeklyJoins:
    """New participants per week (Monday to Sunday, project time), the last twelve weeks."""
    this_week = week_start(now, zone)
    first = this_week - timedelta(weeks=WEEKS_SHOWN - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    counts = Counter(
        week_start(joined, zone)
        for joined in await uow.repository(Figures).joined_since(viewer.scope, since)
    )
    return WeeklyJoins(
        [
            (first + timedelta(weeks=n), counts[first + timedelta(weeks=n)])
            for n in range(WEEKS_SHOWN)
        ]
    )


async def refusals_last_30_days(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> int | None:
    """How many opened an invite and declined: only staff see it (it has no mentor)."""
    if not viewer.sees_everything:
        return None
    return await uow.repository(Figures).refusals_since(now - timedelta(days=30))
