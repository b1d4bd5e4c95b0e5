"""The figures on the dashboard's first page, within the viewer's scope.

Each figure is a plain function of (unit of work, viewer, now, zone). The web edge lists
them as overview sections, so a feature that lands later adds one function and one small
template. Requests for help are counted as the queue shows them (`bot/domain/cases.py`),
progress toward the goals as the ESF report counts it (`bot/domain/report.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import cases, report
from bot.domain.audit import Viewer
from storage.models import CheckinStatus, ParticipantStatus, StepKind
from storage.reporting import Figures
from storage.uow import UnitOfWork

WEEKS_SHOWN = 12
CHECKIN_WEEKS = 8
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


@dataclass(frozen=True)
class CheckinWeek:
    week: date  # its Monday
    answered: int
    expired: int

    @property
    def due(self) -> int:
        return self.answered + self.expired

    @property
    def rate(self) -> float | None:
        return self.answered / self.due if self.due else None


@dataclass(frozen=True)
class CheckinRate:
    weeks: list[CheckinWeek]

    @property
    def answered(self) -> int:
        return sum(week.answered for week in self.weeks)

    @property
    def expired(self) -> int:
        return sum(week.expired for week in self.weeks)

    @property
    def rate(self) -> float | None:
        due = self.answered + self.expired
        return self.answered / due if due else None


async def checkin_answer_rate(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> CheckinRate | None:
    """Check-ins answered against those that expired unanswered, per week they were due
    (Monday to Sunday, project time), the last eight weeks. Check-ins still open are not
    counted yet. None before any check-in has closed."""
    this_week = week_start(now, zone)
    first = this_week - timedelta(weeks=CHECKIN_WEEKS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    until = datetime.combine(this_week + timedelta(weeks=1), datetime.min.time(), tzinfo=zone)
    closed = await uow.repository(Figures).closed_checkins_since(viewer.scope, since, until)
    if not closed:
        return None
    answered: Counter[date] = Counter()
    expired: Counter[date] = Counter()
    for due_at, status in closed:
        week = week_start(due_at, zone)
        (answered if status is CheckinStatus.ANSWERED else expired)[week] += 1
    weeks = [first + timedelta(weeks=n) for n in range(CHECKIN_WEEKS)]
    return CheckinRate([CheckinWeek(week, answered[week], expired[week]) for week in weeks])


@dataclass(frozen=True)
class OpenRequests:
    categories: list[cases.CategoryCount]

    @property
    def waiting(self) -> int:
        return sum(line.waiting for line in self.categories)

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.categories)

    @property
    def claimed(self) -> int:
        return sum(line.claimed for line in self.categories)


async def open_requests(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> OpenRequests:
    """Requests for help not yet done, per topic: waiting (and how many are past the time
    limit) and taken. Within what the viewer may see, as on the queue."""
    return OpenRequests(await cases.open_by_category(uow, viewer, now, zone))


@dataclass(frozen=True)
class StepsThisMonth:
    month: date  # its first day
    by_kind: list[tuple[StepKind, int]]
    participants: int  # how many people made them

    @property
    def total(self) -> int:
        return sum(count for _kind, count in self.by_kind)


async def steps_this_month(
    uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo
) -> StepsThisMonth:
    """Steps forward taken this calendar month (project time), by kind."""
    today = now.astimezone(zone).date()
    first = today.replace(day=1)
    steps = await uow.repository(Figures).steps_between(viewer.scope, first, today)
    kinds = Counter(kind for kind, _participant, _gender in steps)
    return StepsThisMonth(
        month=first,
        by_kind=[(kind, kinds[kind]) for kind in StepKind if kinds[kind]],
        participants=len({participant for _kind, participant, _gender in steps}),
    )


@dataclass(frozen=True)
class GoalLine:
    gender: str  # a report gender key (woman, man, other, not_stated) or report.ALL
    participants: int
    with_step: int
    left: int
    left_for_work_or_studies: int

    @property
    def step_share(self) -> float | None:
        return self.with_step / self.participants if self.participants else None

    @property
    def work_or_studies_share(self) -> float | None:
        return self.left_for_work_or_studies / self.left if self.left else None


@dataclass(frozen=True)
class Goals:
    total: GoalLine
    by_gender: list[GoalLine]  # only genders that were recorded


async def goals(uow: UnitOfWork, viewer: Viewer, now: datetime, zone: ZoneInfo) -> Goals | None:
    """Progress toward the project's goals since it started, counted as the ESF report
    counts: of everyone who took part, the share with at least one step forward; of
    everyone who left, the share who left for work or studies. None before anyone took
    part."""
    built = await report.build(
        uow,
        report.Period(),
        zone=zone,
        now=now,
        goal_work_or_studies=0,
        goal_step=0,
        scope=viewer.scope,
    )
    if not built.totals.participants:
        return None

    def line(gender: str, figures: report.Figures) -> GoalLine:
        return GoalLine(
            gender=gender,
            participants=figures.participants,
            with_step=figures.with_step,
            left=figures.left,
            left_for_work_or_studies=figures.left_for_work_or_studies,
        )

    return Goals(
        total=line(report.ALL, built.totals),
        by_gender=[
            line(row.gender, row.figures)
            for row in built.rows
            if row.cohort == report.ALL and row.gender not in (report.ALL, "not_stated")
        ],
    )
