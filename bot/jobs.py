"""The periodic jobs each bot process runs; feature modules add theirs here."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import PeriodicJob
from bot.turn import Deps

CAMPAIGN_TICK = timedelta(seconds=20)


async def run_campaigns(deps: Deps) -> None:
    """Write campaign occurrences due soon to the outbox; mark finished sends done."""
    from bot.domain import campaigns

    async with deps.unit_of_work() as uow:
        now = deps.clock.now()
        await campaigns.materialise_due(
            uow,
            now=now,
            zone=deps.settings.zone,
            lookahead=CAMPAIGN_TICK * 2,
            skip_locked=deps.database.is_postgres,
        )
        await campaigns.settle(uow, now)
        await uow.commit()


def default_jobs() -> list[PeriodicJob]:
    from bot.sla import escalation_job

    return [
        escalation_job(),
        PeriodicJob("campaigns", every=CAMPAIGN_TICK, run=run_campaigns),
    ]
