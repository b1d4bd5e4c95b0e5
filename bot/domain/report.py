"""The figures ESF projects report, per cohort and by gender, from what is stored.

For a period (whole days in the project's time zone, both ends included; open ends mean
"since the start" and "until today"):

participants   took part at some time in the period: active or in follow-up on at least
               one day of it (applicants who never got a place are not counted).
with a step    of those, had at least one step forward (stegförflyttning) by the end of
               the period. Leaving for work or studies is a step too.
left           of those, left the active phase in the period (for follow-up or ended; an
               answered application is not a leaving). Someone who left twice counts
               once, by their last leaving.
for work or studies
               of those who left, left for work or studies. This is the IRIS goal's share
               ("at least 30 % of those who leave gain more self-sufficiency").
still at 3/6 months
               of those who left for work or studies in the period, how many answered
               the question at 3 (6) months, and how many of them were still working or
               studying. Answers given after the period count: they are the outcome of
               that leaving.

Everything is counted from the lifecycle events, the steps and the follow-up answers;
the result is plain data, so the command line and the staff dashboard's export share it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.journey import FollowUps, Lifecycle
from storage.models import (
    Cohort,
    EndedReason,
    FollowUpAnswer,
    FollowUpStatus,
    LifecycleEvent,
    Participant,
    ParticipantStatus,
    Step,
)
from storage.reporting import Scope
from storage.uow import UnitOfWork

from .onboarding import DomainError

GENDERS = ("woman", "man", "other", "not_stated")
ALL = "all"
NO_COHORT = "–"
IN_PROJECT = (ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)
WORK_OR_STUDIES = (EndedReason.WORK.value, EndedReason.STUDIES.value)
STILL = (FollowUpAnswer.WORK, FollowUpAnswer.STUDIES)


def gender_of(value: str | None) -> str:
    return value if value in GENDERS[:3] else "not_stated"


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None  # included

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise DomainError("the period ends before it starts")

    def bounds(self, zone: ZoneInfo, now: datetime) -> tuple[datetime | None, datetime]:
        """[start of the first day, start of the day after the last) as aware datetimes."""
        start = datetime.combine(self.start, time.min, tzinfo=zone) if self.start else None
        last = self.end or now.astimezone(zone).date()
        return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)


def share(part: int, whole: int) -> float | None:
    """Percent, one decimal; None when there is nobody to count."""
    return round(100 * part / whole, 1) if whole else None


@dataclass
class Figures:
    participants: int = 0
    with_step: int = 0
    left: int = 0
    left_for_work_or_studies: int = 0
    answered_3: int = 0
    still_3: int = 0
    answered_6: int = 0
    still_6: int = 0

    @property
    def step_share(self) -> float | None:
        return share(self.with_step, self.participants)

    @property
    def work_or_studies_share(self) -> float | None:
        return share(self.left_for_work_or_studies, self.left)

    @property
    def still_3_share(self) -> float | None:
        return share(self.still_3, self.answered_3)

    @property
    def still_6_share(self) -> float | None:
        return share(self.still_6, self.answered_6)

    def add(self, other: Figures) -> None:
        for name in (
            "participants",
            "with_step",
            "left",
            "left_for_work_or_studies",
            "answered_3",
            "still_3",
            "answered_6",
            "still_6",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Row:
    cohort: str  # a cohort's name, NO_COHORT, or ALL
    gender: str  # one of GENDERS, or ALL
    figures: Figures


@dataclass(frozen=True)
class Report:
    period: Period
    rows: list[Row]
    goal_work_or_studies: int  # percent, from the project's ESF application
    goal_step: int
    totals: Figures = field(default_factory=Figures)


def _in_project_during(events: list[LifecycleEvent], start: datetime | None, end: datetime) -> bool:
    """Active or in follow-up at some moment in [start, end)."""
    since: datetime | None = None
    for event in events:
        if event.occurred_at >= end:
            break
        if event.to_status in IN_PROJECT:
            if since is None:
                since = event.occurred_at
        elif since is not None:
            if start is None or event.occurred_at > start:
                return True
            since = None
    return since is not None


def _last_leaving(
    events: list[LifecycleEvent], start: datetime | None, end: datetime
) -> LifecycleEvent | None:
    found = None
    for event in events:
        if event.occurred_at >= end or (start is not None and event.occurred_at < start):
            continue
        leaves = event.from_status is ParticipantStatus.ACTIVE and event.to_status in (
            ParticipantStatus.FOLLOW_UP,
            ParticipantStatus.ENDED,
        )
        if leaves:
            found = event
    return found


async def build(
    uow: UnitOfWork,
    period: Period,
    *,
    zone: ZoneInfo,
    now: datetime,
    goal_work_or_studies: int,
    goal_step: int,
    scope: Scope | None = None,
) -> Report:
    """`scope` limits the count to what a viewer may see (the dashboard's overview); the
    ESF export counts the whole project."""
    start, end = period.bounds(zone, now)
    session = uow.session
    # Only what is counted: no names are read (nor decrypted) for a report.
    query = select(Participant.id, Participant.cohort_id, Participant.gender)
    if scope is not None:
        query = scope.participants(query)
    participants = {row.id: row for row in (await session.execute(query)).all()}
    cohorts = {c.id: c.name for c in (await session.scalars(select(Cohort))).all()}
    events: dict[int, list[LifecycleEvent]] = defaultdict(list)
    for event in await uow.repository(Lifecycle).all_until(end):
        events[event.participant_id].append(event)
    last_day = (end - timedelta(days=1)).astimezone(zone).date() if end else None
    stepped = set(
        (
            await session.scalars(
                select(Step.participant_id).where(Step.taken_on <= last_day).distinct()
            )
        ).all()
    )
    answers = {
        (q.left_event_id, q.months): q.answer
        for q in await uow.repository(FollowUps).all()
        if q.status is FollowUpStatus.ANSWERED
    }
    cells: dict[tuple[str, str], Figures] = defaultdict(Figures)
    for participant_id, history in events.items():
        participant = participants.get(participant_id)
        if participant is None or not _in_project_during(history, start, end):
            continue
        one = Figures(participants=1, with_step=int(participant_id in stepped))
        leaving = _last_leaving(history, start, end)
        if leaving is not None:
            one.left = 1
            if leaving.reason in WORK_OR_STUDIES:
                one.left_for_work_or_studies = 1
                for months in (3, 6):
                    answer = answers.get((leaving.id, months))
                    if answer is not None:
                        setattr(one, f"answered_{months}", 1)
                        setattr(one, f"still_{months}", int(answer in STILL))
        cohort = cohorts.get(participant.cohort_id or 0, NO_COHORT)
        cells[(cohort, gender_of(participant.gender))].add(one)
    return Report(
        period=period,
        rows=_rows(cells),
        goal_work_or_studies=goal_work_or_studies,
        goal_step=goal_step,
        totals=_sum(cells.values()),
    )


def _sum(figures: Iterable[Figures]) -> Figures:
    total = Figures()
    for one in figures:
        total.add(one)
    return total


def _rows(cells: dict[tuple[str, str], Figures]) -> list[Row]:
    """Each cohort by gender, then the cohort; then all cohorts by gender, then all."""
    rows: list[Row] = []
    cohort_names = sorted({cohort for cohort, _gender in cells}, key=lambda n: (n == NO_COHORT, n))
    for cohort in cohort_names:
        mine = {g: f for (c, g), f in cells.items() if c == cohort}
        rows += [Row(cohort, gender, mine[gender]) for gender in GENDERS if gender in mine]
        rows.append(Row(cohort, ALL, _sum(mine.values())))
    by_gender: dict[str, Figures] = defaultdict(Figures)
    for (_cohort, gender), figures in cells.items():
        by_gender[gender].add(figures)
    rows += [Row(ALL, gender, by_gender[gender]) for gender in GENDERS if gender in by_gender]
    rows.append(Row(ALL, ALL, _sum(cells.values())))
    return rows
