"""The periodic jobs each bot process runs; feature modules add theirs here."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import signup
from bot.flows.checkin import CheckinJob
from bot.flows.selfrating import SelfRatingJob
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
        PeriodicJob("checkins", timedelta(seconds=30), CheckinJob()),
        PeriodicJob("selfrating-offers", timedelta(minutes=1), SelfRatingJob()),
        journey_job(),
        PeriodicJob("retention", timedelta(hours=1), run_retention),
    ]


def journey_job(every: timedelta = timedelta(seconds=30)) -> PeriodicJob:
    """Follow-up questions that are due, and forgetting unfinished sign-ups."""
    from bot.flows.follow_up import ask_due_questions

    async def run(deps: Deps) -> None:
        await ask_due_questions(deps)
        async with deps.unit_of_work() as uow:
            await signup.forget_abandoned(uow, deps.clock.now())
            await uow.commit()

    return PeriodicJob("journey", every, run)


async def run_retention(deps: Deps) -> None:
    """The retention rule: free text of participants who left long enough ago is purged,
    and delivered messages lose their text after a month. Small batches, many ticks."""
    from bot.domain import privacy

    settings = deps.settings
    async with deps.unit_of_work() as uow:
        now = deps.clock.now()
        for participant in await privacy.due_for_purge(uow, now, settings.retention_months):
            await privacy.purge_free_text(uow, participant, now)
        await privacy.purge_old_outbox(uow, now, settings.outbox_retention_days)
        await uow.commit()
