"""The periodic jobs each bot process runs; feature modules add theirs here."""

from __future__ import annotations

from datetime import timedelta

from bot.flows.checkin import CheckinJob
from bot.flows.selfrating import SelfRatingJob
from bot.runtime import PeriodicJob


def default_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob("checkins", timedelta(seconds=30), CheckinJob()),
        PeriodicJob("selfrating-offers", timedelta(minutes=1), SelfRatingJob()),
    ]
