"""The periodic jobs each bot process runs; feature modules add theirs here."""

from __future__ import annotations

from bot.runtime import PeriodicJob


def default_jobs() -> list[PeriodicJob]:
    from bot.sla import escalation_job

    return [escalation_job()]
