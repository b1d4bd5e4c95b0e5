"""Next occurrences keep the local wall-clock time across summer time; quiet hours defer."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import QuietHours, ScheduleError, monthly, next_occurrence, weekly

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_a_weekly_time_stays_at_ten_local_across_the_change_to_summer_time() -> None:
    spec = weekly(0, time(10, 0))
    # Monday 23 March 2026 10:00 CET is 09:00 UTC; summer time starts Sunday 29 March.
    first = next_occurrence(spec, STOCKHOLM, datetime(2026, 3, 20, tzinfo=UTC))
    assert first == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
    second = next_occurrence(spec, STOCKHOLM, first)
    assert second == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert second is not None and second.astimezone(STOCKHOLM).hour == 10


def test_a_weekly_time_stays_at_ten_local_when_summer_time_ends() -> None:
    spec = weekly(0, time(10, 0))
    after = datetime(2026, 10, 20, tzinfo=UTC)
    first = next_occurrence(spec, STOCKHOLM, after)
    assert first is not None
    second = next_occurrence(spec, STOCKHOLM, first)
    assert first == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # winter time from 25 October
    assert second == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_occurrence_is_strictly_after_the_given_moment() -> None:
    spec = weekly(0, time(10, 0))
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert next_occurrence(spec, STOCKHOLM, at) == datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def test_a_monthly_time_is_the_first_weekday_of_the_month() -> None:
    spec = monthly(2, time(9, 30))
    result = next_occurrence(spec, STOCKHOLM, datetime(2026, 2, 5, tzinfo=UTC))
    assert result == datetime(2026, 3, 4, 8, 30, tzinfo=UTC)


def test_a_date_happens_once() -> None:
    spec = {"kind": "date", "at": "2026-02-01T09:00:00+01:00"}
    once = next_occurrence(spec, STOCKHOLM, datetime(2026, 1, 1, tzinfo=UTC))
    assert once == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    assert next_occurrence(spec, STOCKHOLM, once, previous=once) is None


def test_an_interval_counts_from_its_start() -> None:
    spec = {"kind": "interval", "weeks": 2, "start": "2026-01-05T10:00:00+01:00"}
    first = next_occurrence(spec, STOCKHOLM, datetime(2026, 1, 6, tzinfo=UTC))
    assert first == datetime(2026, 1, 19, 9, 0, tzinfo=UTC)


def test_a_broken_spec_is_refused() -> None:
    with pytest.raises(ScheduleError):
        next_occurrence({"kind": "cron", "hour": 25}, STOCKHOLM, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ScheduleError):
        next_occurrence({"kind": "weekly"}, STOCKHOLM, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        (datetime(2026, 1, 5, 22, 30), datetime(2026, 1, 6, 8, 0)),
        (datetime(2026, 1, 6, 6, 0), datetime(2026, 1, 6, 8, 0)),
        (datetime(2026, 1, 6, 12, 0), datetime(2026, 1, 6, 12, 0)),
    ],
)
def test_quiet_hours_move_a_message_to_the_morning(
    local: datetime, expected_local: datetime
) -> None:
    quiet = QuietHours()
    moment = local.replace(tzinfo=STOCKHOLM).astimezone(UTC)
    assert quiet.defer(moment, STOCKHOLM) == expected_local.replace(tzinfo=STOCKHOLM).astimezone(
        UTC
    )
