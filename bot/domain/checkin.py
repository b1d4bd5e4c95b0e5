"""Check-ins: when they happen, what was answered, what a mentor should look at.

Plain values in, rows out; no Telegram here. Each participant has a schedule row per kind
of recurring contact (a check-in, a self-rating offer) whose `next_due_at` a periodic job
reads by index; the job opens the check-in, the edge renders and queues its first message
in the same transaction, and the schedule moves on with `next_occurrence`. Nudge and
expiry are due columns on the check-in, read by the same job. A check-in holds its own
step, so a button is always checked against the stored check-in it belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.schedule import WEEKDAYS, QuietHours, build_trigger, monthly, weekly
from storage.models import (
    Cadence,
    Checkin,
    CheckinStatus,
    CheckinStep,
    FlagKind,
    Participant,
    ParticipantFlag,
    ParticipantSchedule,
    ParticipantStatus,
    ScheduleKind,
    Step,
    StepKind,
    StepSource,
)
from storage.models.progress import Checkins, Flags, Schedules, Steps
from storage.uow import UnitOfWork

UTC = ZoneInfo("UTC")
MOODS = (1, 2, 3, 4, 5)
LOWEST_MOODS = frozenset({1, 2})
# What a participant did toward work or studies this week (several may be chosen).
ACTIVITIES = ("apply", "course", "internship", "authority", "nothing", "other")
NOTHING = "nothing"
# A weekly activity that is also a step the first time it appears (a start, not a habit).
ACTIVITY_STEPS = {
    "course": StepKind.COURSE,
    "internship": StepKind.INTERNSHIP,
    "authority": StepKind.CONTACT,
}
# Job applications become the step "regular job-search" when they come back week after week.
JOB_SEARCH_ACTIVITY = "apply"
JOB_SEARCH_WEEKS = 3
JOB_SEARCH_WINDOW = 4
# A step of the same kind within this time is the same step, not a new one.
SAME_STEP_WITHIN = timedelta(days=90)
NOTE_LIMIT = 4000
# Who gets check-ins; ended and erased participants get none, ever.
ELIGIBLE_STATUSES = frozenset({ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP})
# The first self-rating (the baseline) is offered a few days after joining.
BASELINE_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class CheckinPolicy:
    """The project's defaults for check-ins and self-rating offers (from settings)."""

    weekday: int = 0
    at: time = time(10, 0)
    nudge_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(hours=72)
    selfrating_every_months: int = 3
    batch_size: int = 200
    quiet_hours: QuietHours = field(default_factory=QuietHours)

    @classmethod
    def from_settings(cls, settings: Any) -> CheckinPolicy:
        return cls(
            weekday=settings.checkin_weekday,
            at=settings.checkin_time,
            nudge_after=timedelta(hours=settings.checkin_nudge_after_hours),
            expire_after=timedelta(hours=settings.checkin_expire_after_hours),
            selfrating_every_months=settings.selfrating_every_months,
        )


# Schedules


@dataclass(frozen=True)
class ScheduleChoice:
    """What a participant or mentor chose, read back from a stored spec."""

    cadence: Cadence
    weekday: int
    at: time


def checkin_spec(
    cadence: Cadence, weekday: int, at: time, anchor: date | None = None
) -> dict[str, Any]:
    """A check-in spec: the trigger fields plus the choice they were made from.
    Every other week counts weeks from `anchor` (a Monday), so it never slips at New Year
    the way ISO week numbers would (2026 has 53 weeks)."""
    choice = {"cadence": cadence.value, "weekday": weekday, "hour": at.hour, "minute": at.minute}
    if cadence is Cadence.MONTHLY:
        return {**monthly(weekday, at), **choice}
    spec = {**weekly(weekday, at), **choice}
    if cadence is Cadence.FORTNIGHTLY:
        start = anchor or date(2026, 1, 5)
        spec["every_weeks"] = 2
        spec["anchor"] = (start - timedelta(days=start.weekday())).isoformat()
    return spec


def choice_of(spec: dict[str, Any]) -> ScheduleChoice:
    return ScheduleChoice(
        cadence=Cadence(spec.get("cadence", Cadence.WEEKLY)),
        weekday=int(spec.get("weekday", WEEKDAYS.index(spec.get("day_of_week", "mon")))),
        at=time(int(spec.get("hour", 10)), int(spec.get("minute", 0))),
    )


@lru_cache(maxsize=512)
def _trigger(spec_key: str, zone_name: str) -> Any:
    """Triggers are pure: one per distinct spec (a few dozen), not one per participant."""
    return build_trigger(json.loads(spec_key), ZoneInfo(zone_name))


def next_due(spec: dict[str, Any], zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`, in UTC (bot.schedule.next_occurrence
    with a cached trigger, and every-other-week counted from the spec's anchor)."""
    return _next_due(json.dumps(spec, sort_keys=True), zone.key, after)


@lru_cache(maxsize=4096)
def _next_due(spec_key: str, zone_name: str, after: datetime) -> datetime | None:
    """Pure, and most participants share a spec and an occurrence: a job moving thousands
    of schedules on from Monday 10:00 asks the trigger once, not once per participant."""
    spec = json.loads(spec_key)
    zone = ZoneInfo(zone_name)
    trigger = _trigger(spec_key, zone_name)
    every = int(spec.get("every_weeks", 1))
    anchor = date.fromisoformat(spec["anchor"]) if every > 1 else None
    moment = after
    for _ in range(every * 2 + 2):
        probe = moment + timedelta(microseconds=1)
        result: datetime | None = trigger.get_next_fire_time(None, probe)
        if result is None:
            return None
        result = result.astimezone(UTC)
        if anchor is None or ((result.astimezone(zone).date() - anchor).days // 7) % every == 0:
            return result
        moment = result
    raise ValueError("no occurrence found for an every-other-week spec")


def catch_up(
    spec: dict[str, Any], zone: ZoneInfo, occurrence: datetime, now: datetime
) -> tuple[datetime, datetime | None]:
    """The latest occurrence that is due by `now` (later than `occurrence` if the bot was
    down for a while), and the one after it."""
    following = next_due(spec, zone, occurrence)
    while following is not None and following <= now:
        occurrence, following = following, next_due(spec, zone, following)
    return occurrence, following


def selfrating_spec(first_local: date, every_months: int, at: time) -> dict[str, Any]:
    """Every `every_months` months on the day of the month the participant joined."""
    months = sorted({(first_local.month - 1 + k * every_months) % 12 + 1 for k in range(12)})
    return {
        "kind": "cron",
        "month": ",".join(str(month) for month in months),
        "day": min(first_local.day, 28),
        "hour": at.hour,
        "minute": at.minute,
    }


def can_ever_be_contacted(participant: Participant) -> bool:
    return (
        participant.erased_at is None
        and participant.chat_id is not None
        and participant.status is not ParticipantStatus.ENDED
    )


def reachable_now(participant: Participant) -> bool:
    """May the bot write to this participant on its own initiative right now?"""
    return (
        can_ever_be_contacted(participant)
        and participant.status in ELIGIBLE_STATUSES
        and participant.reminders_paused_at is None
        and participant.unreachable_at is None
    )


def new_schedules(
    participant: Participant, now: datetime, zone: ZoneInfo, policy: CheckinPolicy
) -> list[ParticipantSchedule]:
    """A check-in schedule on the project's default day and time, and self-rating offers:
    the first a few days after joining (a baseline to compare with), then every few months."""
    spec = checkin_spec(Cadence.WEEKLY, policy.weekday, policy.at)
    active = can_ever_be_contacted(participant)
    first_checkin = next_due(spec, zone, now) if active else None
    base = max(now, participant.joined_at) + BASELINE_AFTER
    baseline_day = base.astimezone(zone).date()
    if baseline_day.weekday() == policy.weekday:
        baseline_day += timedelta(days=1)  # not on the same morning as a check-in
    baseline = datetime.combine(baseline_day, policy.at, tzinfo=zone).astimezone(UTC)
    rating_spec = selfrating_spec(
        participant.joined_at.astimezone(zone).date(), policy.selfrating_every_months, policy.at
    )
    return [
        ParticipantSchedule(
            participant_id=participant.id,
            kind=ScheduleKind.CHECKIN,
            spec=spec,
            next_due_at=first_checkin,
            missed_in_a_row=0,
            updated_at=now,
        ),
        ParticipantSchedule(
            participant_id=participant.id,
            kind=ScheduleKind.SELFRATING,
            spec=rating_spec,
            next_due_at=baseline if active else None,
            missed_in_a_row=0,
            updated_at=now,
        ),
    ]


async def schedule_missing(
    uow: UnitOfWork,
    *,
    after_id: int,
    now: datetime,
    zone: ZoneInfo,
    policy: CheckinPolicy,
) -> tuple[int, int, bool]:
    """Give schedules to participants above `after_id` who have none (new joiners, people
    added by staff), reading one batch of participants by id: after the first pass a tick
    reads only the participants who joined since. Returns (schedules made, the id to
    continue after, whether more wait)."""
    schedules = uow.repository(Schedules)
    found = await schedules.participants_after(after_id, policy.batch_size)
    have = await schedules.kinds_of([participant.id for participant in found])
    made = [
        schedule
        for participant in found
        for schedule in new_schedules(participant, now, zone, policy)
        if (participant.id, schedule.kind) not in have
    ]
    await schedules.insert_many(made)
    if len(found) == policy.batch_size:
        return len(made), found[-1].id, True
    return len(made), found[-1].id if found else after_id, False


async def checkin_schedule(
    uow: UnitOfWork, participant: Participant, now: datetime, zone: ZoneInfo, policy: CheckinPolicy
) -> ParticipantSchedule:
    """The participant's check-in schedule, made now if the job has not made it yet."""
    schedules = uow.repository(Schedules)
    found = await schedules.get(participant.id, ScheduleKind.CHECKIN)
    if found is not None:
        return found
    existing_rating = await schedules.get(participant.id, ScheduleKind.SELFRATING)
    made = [
        schedule
        for schedule in new_schedules(participant, now, zone, policy)
        if schedule.kind is ScheduleKind.CHECKIN or existing_rating is None
    ]
    await schedules.add_all(made)
    return made[0]


async def change_day_and_time(
    uow: UnitOfWork,
    participant: Participant,
    weekday: int,
    at: time,
    now: datetime,
    zone: ZoneInfo,
    policy: CheckinPolicy,
) -> ParticipantSchedule:
    """The participant's own choice of day and time; the mentor's cadence stays."""
    schedule = await checkin_schedule(uow, participant, now, zone, policy)
    choice = choice_of(schedule.spec)
    anchor = date.fromisoformat(schedule.spec["anchor"]) if "anchor" in schedule.spec else None
    schedule.spec = checkin_spec(choice.cadence, weekday, at, anchor or now.astimezone(zone).date())
    schedule.next_due_at = (
        next_due(schedule.spec, zone, now) if can_ever_be_contacted(participant) else None
    )
    schedule.updated_at = now
    rating = await uow.repository(Schedules).get(participant.id, ScheduleKind.SELFRATING)
    if rating is not None:
        rating.spec = {**rating.spec, "hour": at.hour, "minute": at.minute}
        rating.updated_at = now
    return schedule


async def change_cadence(
    uow: UnitOfWork,
    participant: Participant,
    cadence: Cadence,
    now: datetime,
    zone: ZoneInfo,
    policy: CheckinPolicy,
) -> ParticipantSchedule:
    """A mentor's choice of how often; the participant's day and time stay."""
    schedule = await checkin_schedule(uow, participant, now, zone, policy)
    choice = choice_of(schedule.spec)
    schedule.spec = checkin_spec(cadence, choice.weekday, choice.at, now.astimezone(zone).date())
    schedule.next_due_at = (
        next_due(schedule.spec, zone, now) if can_ever_be_contacted(participant) else None
    )
    schedule.updated_at = now
    return schedule


# The periodic work: open due check-ins, nudge once, expire


@dataclass(frozen=True)
class Opened:
    participant: Participant
    checkin: Checkin


@dataclass(frozen=True)
class Raised:
    """A flag just raised: the edge tells the participant's mentor."""

    participant: Participant
    flag: ParticipantFlag


@dataclass
class DuePass:
    schedules_read: int = 0
    opened: list[Opened] = field(default_factory=list)


async def participants_by_id(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, Participant]:
    if not ids:
        return {}
    rows = await uow.session.scalars(select(Participant).where(Participant.id.in_(list(ids))))
    return {participant.id: participant for participant in rows}


async def open_due_checkins(
    uow: UnitOfWork,
    now: datetime,
    zone: ZoneInfo,
    policy: CheckinPolicy,
    *,
    skip_locked: bool = False,
) -> DuePass:
    """Open one batch of due check-ins and move their schedules on.

    An occurrence missed for longer than a check-in stays open (the bot was down) is
    skipped rather than sent late; an older check-in still open is closed first, so a
    participant never has two (run `expire_due` before this pass). Participants who are
    paused, unreachable or not (yet) active are passed over; ended and erased ones lose
    their schedule for good.
    """
    schedules = await uow.repository(Schedules).due(
        ScheduleKind.CHECKIN, now, policy.batch_size, skip_locked=skip_locked
    )
    result = DuePass(schedules_read=len(schedules))
    if not schedules:
        return result
    people = await participants_by_id(uow, [schedule.participant_id for schedule in schedules])
    checkins = uow.repository(Checkins)
    # Expiry runs before this pass, so an earlier check-in can only still be open when
    # it is younger than the expiry time (an interval shorter than that, a moved day).
    still_open = await checkins.open_of_many(
        [
            schedule.participant_id
            for schedule in schedules
            if schedule.last_due_at is not None and now - schedule.last_due_at < policy.expire_after
        ]
    )
    new: list[Checkin] = []
    for schedule in schedules:
        occurrence = schedule.next_due_at
        assert occurrence is not None
        participant = people[schedule.participant_id]
        schedule.last_due_at = occurrence
        schedule.updated_at = now
        if not can_ever_be_contacted(participant):
            schedule.next_due_at = None
            continue
        occurrence, schedule.next_due_at = catch_up(schedule.spec, zone, occurrence, now)
        if not reachable_now(participant) or now - occurrence >= policy.expire_after:
            continue
        for older in still_open.get(participant.id, []):
            _expire(older, now)
        checkin = Checkin(
            participant_id=participant.id,
            due_at=occurrence,
            opened_at=now,
            status=CheckinStatus.OPEN,
            step=CheckinStep.MOOD,
            activities=[],
            nudge_due_at=policy.quiet_hours.defer(occurrence + policy.nudge_after, zone),
            expire_due_at=occurrence + policy.expire_after,
        )
        new.append(checkin)
        result.opened.append(Opened(participant, checkin))
    await checkins.insert_many(new)
    return result


@dataclass(frozen=True)
class Nudge:
    participant: Participant
    checkin: Checkin


async def due_nudges(
    uow: UnitOfWork, now: datetime, policy: CheckinPolicy, *, skip_locked: bool = False
) -> list[Nudge]:
    """Open check-ins whose one gentle nudge is due; each is nudged once, then never again."""
    found = await uow.repository(Checkins).nudges_due(
        now, policy.batch_size, skip_locked=skip_locked
    )
    people = await participants_by_id(uow, [checkin.participant_id for checkin in found])
    nudges: list[Nudge] = []
    for checkin in found:
        checkin.nudge_due_at = None
        participant = people[checkin.participant_id]
        if checkin.status is CheckinStatus.OPEN and reachable_now(participant):
            checkin.nudged_at = now
            nudges.append(Nudge(participant, checkin))
    return nudges


@dataclass
class ExpiryPass:
    expired: list[Checkin] = field(default_factory=list)
    raised: list[Raised] = field(default_factory=list)


def _expire(checkin: Checkin, now: datetime) -> None:
    checkin.status = CheckinStatus.EXPIRED
    checkin.expired_at = now
    checkin.nudge_due_at = None
    checkin.expire_due_at = None


async def expire_due(
    uow: UnitOfWork, now: datetime, policy: CheckinPolicy, *, skip_locked: bool = False
) -> ExpiryPass:
    """Close check-ins nobody finished in time. Answers given before stay and count;
    two closed in a row without any answer raise a flag for the mentor (counted on the
    schedule, so a thousand closing at once cost no look-back per check-in)."""
    checkins = uow.repository(Checkins)
    found = await checkins.expiries_due(now, policy.batch_size, skip_locked=skip_locked)
    result = ExpiryPass()
    closing = [checkin for checkin in found if checkin.status is CheckinStatus.OPEN]
    for checkin in found:
        checkin.expire_due_at = None
    ids = [checkin.participant_id for checkin in closing]
    schedules = await uow.repository(Schedules).of_many(ScheduleKind.CHECKIN, ids)
    people = await participants_by_id(uow, ids)
    for checkin in closing:
        _expire(checkin, now)
        result.expired.append(checkin)
        schedule = schedules.get(checkin.participant_id)
        if schedule is None:
            continue
        if checkin.mood is not None:
            schedule.missed_in_a_row = 0
            continue
        schedule.missed_in_a_row += 1
        if schedule.missed_in_a_row >= 2:
            flag = await _raise(uow, checkin, FlagKind.NO_ANSWER, now)
            if flag is not None:
                result.raised.append(Raised(people[checkin.participant_id], flag))
    return result


# Answering


async def _raise(
    uow: UnitOfWork, checkin: Checkin, kind: FlagKind, now: datetime
) -> ParticipantFlag | None:
    """A flag of this kind, unless one is already open: a mentor is told once, not weekly."""
    flags = uow.repository(Flags)
    if any(flag.kind is kind for flag in await flags.open_of(checkin.participant_id)):
        return None
    return await flags.add(
        ParticipantFlag(
            participant_id=checkin.participant_id, kind=kind, checkin_id=checkin.id, raised_at=now
        )
    )


async def own_checkin(
    uow: UnitOfWork, participant_id: int, checkin_id: int | None
) -> Checkin | None:
    """The check-in a button names, if it is this participant's (open or closed)."""
    if checkin_id is None:
        return None
    checkin = await uow.repository(Checkins).get(checkin_id)
    if checkin is None or checkin.participant_id != participant_id:
        return None
    return checkin


async def answer_mood(
    uow: UnitOfWork, checkin: Checkin, mood: int, now: datetime
) -> ParticipantFlag | None:
    """Store the face and move on; the two lowest faces twice in a row raise a flag."""
    if mood not in MOODS:
        raise ValueError(f"mood {mood} is not on the scale")
    checkin.mood = mood
    checkin.step = CheckinStep.ACTIVITIES
    schedule = await uow.repository(Schedules).get(checkin.participant_id, ScheduleKind.CHECKIN)
    if schedule is not None:
        schedule.missed_in_a_row = 0
    if mood not in LOWEST_MOODS:
        return None
    for earlier in await uow.repository(Checkins).latest(checkin.participant_id, 12):
        if earlier.id == checkin.id or earlier.due_at >= checkin.due_at:
            continue
        if earlier.mood is None:
            continue  # unanswered weeks do not break a run of hard weeks
        if earlier.mood in LOWEST_MOODS:
            return await _raise(uow, checkin, FlagKind.LOW_MOOD, now)
        return None
    return None


def toggle_activity(checkin: Checkin, activity: str) -> list[str]:
    """Tick or untick one choice. "Nothing this week" and the others exclude each other."""
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}")
    chosen = list(checkin.activities or [])
    if activity in chosen:
        chosen.remove(activity)
    elif activity == NOTHING:
        chosen = [NOTHING]
    else:
        chosen = [code for code in chosen if code != NOTHING] + [activity]
    checkin.activities = [code for code in ACTIVITIES if code in chosen]
    return checkin.activities


async def finish_activities(
    uow: UnitOfWork, checkin: Checkin, now: datetime, zone: ZoneInfo
) -> list[Step]:
    """Close the activity question and record the steps it shows: a course, internship or
    contact with an authority that is new (not last week's, no such step lately), and
    job applications that have become regular."""
    if not checkin.activities:
        checkin.activities = [NOTHING]
    checkin.step = CheckinStep.HELP
    history = [
        earlier
        for earlier in await uow.repository(Checkins).latest(checkin.participant_id, 8)
        if earlier.id != checkin.id
        and earlier.due_at < checkin.due_at
        and earlier.step in (CheckinStep.HELP, CheckinStep.DONE)
    ]
    last_week = set(history[0].activities) if history else set()
    today = checkin.due_at.astimezone(zone).date()
    steps = uow.repository(Steps)
    recorded: list[Step] = []

    async def record_if_new(kind: StepKind, within: timedelta) -> None:
        latest = await steps.latest_of_kind(checkin.participant_id, kind)
        if latest is not None and today - latest.taken_on < within:
            return
        recorded.append(
            await steps.add(
                Step(
                    participant_id=checkin.participant_id,
                    kind=kind,
                    taken_on=today,
                    source=StepSource.CHECKIN,
                    checkin_id=checkin.id,
                    recorded_at=now,
                )
            )
        )

    for activity, kind in ACTIVITY_STEPS.items():
        if activity in checkin.activities and activity not in last_week:
            await record_if_new(kind, SAME_STEP_WITHIN)
    if JOB_SEARCH_ACTIVITY in checkin.activities:
        window = [checkin, *history[: JOB_SEARCH_WINDOW - 1]]
        weeks = sum(JOB_SEARCH_ACTIVITY in earlier.activities for earlier in window)
        if weeks >= JOB_SEARCH_WEEKS:
            await record_if_new(StepKind.JOB_SEARCH, SAME_STEP_WITHIN * 2)
    return recorded


def answer_help(checkin: Checkin, wants_help: bool, now: datetime) -> None:
    """The last answer: the check-in is answered, and nothing more is due for it."""
    checkin.wants_help = wants_help
    checkin.step = CheckinStep.DONE
    checkin.status = CheckinStatus.ANSWERED
    checkin.answered_at = now
    checkin.nudge_due_at = None
    checkin.expire_due_at = None


def add_note(checkin: Checkin, text: str) -> None:
    """Words written during a check-in, kept with it (sealed) for the mentor."""
    joined = f"{checkin.note}\n\n{text}" if checkin.note else text
    checkin.note = joined[:NOTE_LIMIT]


# Statistics


@dataclass(frozen=True)
class CheckinCounts:
    """Answered and expired check-ins both count: a response rate needs both."""

    answered: int
    expired: int
    open: int

    @property
    def closed(self) -> int:
        return self.answered + self.expired


async def checkin_counts(
    uow: UnitOfWork, participant_ids: Sequence[int], since: datetime
) -> CheckinCounts:
    counts = await uow.repository(Checkins).counts(participant_ids, since)
    return CheckinCounts(
        answered=counts.get(CheckinStatus.ANSWERED, 0),
        expired=counts.get(CheckinStatus.EXPIRED, 0),
        open=counts.get(CheckinStatus.OPEN, 0),
    )


def mood_trend(checkins_newest_first: Sequence[Checkin], length: int = 4) -> list[int]:
    """The last few faces, oldest first, skipping weeks without an answer."""
    moods = [checkin.mood for checkin in checkins_newest_first if checkin.mood is not None]
    return list(reversed(moods[:length]))
