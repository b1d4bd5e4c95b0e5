"""When recurring things happen next, computed by APScheduler triggers (DESIGN decision 3).

APScheduler only computes times here; it holds no jobs. A schedule is stored as a small
JSON spec next to the thing it schedules (a participant's check-in, a campaign), with its
next occurrence in an indexed column; a periodic job picks up what is due, writes it to
the outbox, and stores the occurrence after. A restart therefore rebuilds nothing, and a
hundred thousand schedules cost rows, not memory.

Times are wall-clock times in the project's zone: "Monday 10:00" stays 10:00 in
Stockholm across the change to and from summer time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ScheduleKind = Literal["date", "cron", "interval"]


class ScheduleError(ValueError):
    """A schedule spec that cannot describe a time."""


def build_trigger(spec: dict[str, Any], zone: ZoneInfo) -> BaseTrigger:
    """A trigger from a stored spec:
    {"kind": "date", "at": ISO time}
    {"kind": "cron", "day_of_week": "mon", "hour": 10, "minute": 0, "day": "1"?}
    {"kind": "interval", "weeks"|"days"|"hours": n, "start": ISO time}
    """
    kind = spec.get("kind")
    if kind == "date":
        return DateTrigger(run_date=datetime.fromisoformat(spec["at"]), timezone=zone)
    if kind == "cron":
        fields = {
            key: spec[key]
            for key in ("year", "month", "day", "week", "day_of_week", "hour", "minute")
            if key in spec
        }
        try:
            return CronTrigger(timezone=zone, second=0, **fields)
        except ValueError as error:
            raise ScheduleError(str(error)) from error
    if kind == "interval":
        amounts = {
            key: int(spec[key]) for key in ("weeks", "days", "hours", "minutes") if key in spec
        }
        if not amounts or not any(amounts.values()):
            raise ScheduleError("an interval needs weeks, days, hours or minutes")
        start = datetime.fromisoformat(spec["start"]) if "start" in spec else None
        return IntervalTrigger(timezone=zone, start_date=start, **amounts)
    raise ScheduleError(f"unknown schedule kind {kind!r}")


def next_occurrence(
    spec: dict[str, Any], zone: ZoneInfo, after: datetime, previous: datetime | None = None
) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None when there is none."""
    trigger = build_trigger(spec, zone)
    probe = after + timedelta(microseconds=1)
    result: datetime | None = trigger.get_next_fire_time(previous, probe)
    # A date trigger with a previous fire time is spent; cron and interval move on.
    while result is not None and result <= after:
        previous = result
        result = trigger.get_next_fire_time(previous, probe)
    return result.astimezone(ZoneInfo("UTC")) if result is not None else None


def weekly(weekday: int, at: time) -> dict[str, Any]:
    """Every week on `weekday` (Monday is 0) at a local wall-clock time."""
    return {"kind": "cron", "day_of_week": WEEKDAYS[weekday], "hour": at.hour, "minute": at.minute}


def monthly(weekday: int, at: time) -> dict[str, Any]:
    """The first `weekday` of every month at a local time."""
    return {
        "kind": "cron",
        "day": f"1st {WEEKDAYS[weekday]}",
        "hour": at.hour,
        "minute": at.minute,
    }


@dataclass(frozen=True)
class QuietHours:
    """Local hours when nobody gets a campaign or reminder; e.g. 21:00 to 08:00."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        local = moment.astimezone(zone).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment`, or the end of the quiet hours it falls in (in UTC)."""
        if not self.contains(moment, zone):
            return moment
        local = moment.astimezone(zone)
        end_day = local.date()
        if self.start > self.end and local.time() >= self.start:
            end_day = end_day + timedelta(days=1)
        morning = datetime.combine(end_day, self.end, tzinfo=zone)
        return morning.astimezone(ZoneInfo("UTC"))
