"""The SLA job: unclaimed requests for help are re-notified and widened, on time, by whichever
process looks next.

Nothing is held in memory: each pass reads the cases whose `next_action_at` has come, and
the messages a flood held back, and writes the outbox in the same transaction that moves
the case on. Urgent cases come back every 15 minutes; others at 09:00 on the next working
day. Drafts a participant never decided on are deleted after a day.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.domain import escalation as domain
from bot.escalation_notices import Post, relay_to_mentors, tell_mentors
from bot.messaging import Notifier
from storage.escalations import Escalations
from storage.models import EscalationMessage
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import PeriodicJob
    from bot.turn import Deps

log = logging.getLogger(__name__)

EVERY = timedelta(seconds=30)


def post_for(uow: UnitOfWork, deps: Deps) -> Post:
    settings = deps.settings
    return Post(
        uow, Notifier(uow, deps.clock), deps.translator, settings.default_locale, settings.zone
    )


async def widen_due(deps: Deps) -> int:
    """Re-notify and widen every unclaimed case whose time has come; how many."""
    now = deps.clock.now()
    async with deps.unit_of_work() as uow:
        repository = uow.repository(Escalations)
        due = await repository.due(now)
        post = post_for(uow, deps)
        for case in due:
            participant = await uow.participants.get(case.participant_id)
            if participant is None or participant.erased_at is not None:
                case.next_action_at = None
                continue
            paging = await domain.widen(uow, case, participant, now, deps.settings.zone)
            await tell_mentors(post, case, participant, paging, now, widened=True)
            log.info(
                "case=%s unclaimed: reminded=%s newly told=%s circle=%s",
                case.id,
                len(paging.again),
                len(paging.new),
                case.circle,
            )
        await uow.commit()
    return len(due)


async def release_held(deps: Deps) -> int:
    """Pass on, in one go per case, what a flood held back once the minute has passed."""
    now = deps.clock.now()
    async with deps.unit_of_work() as uow:
        repository = uow.repository(Escalations)
        held = await repository.held(now - domain.FLOOD_WINDOW)
        by_case: dict[int, list[EscalationMessage]] = defaultdict(list)
        for message in held:
            by_case[message.escalation_id].append(message)
        post = post_for(uow, deps)
        for case_id, messages in by_case.items():
            case = await repository.get(case_id, lock=True)
            participant = await uow.participants.get(case.participant_id) if case else None
            if case is None or participant is None:
                continue
            await relay_to_mentors(post, case, participant, messages, now)
        await uow.commit()
    return len(held)


async def delete_stale_drafts(deps: Deps) -> int:
    """What a participant wrote and never chose to send is not kept."""
    now = deps.clock.now()
    async with deps.unit_of_work() as uow:
        repository = uow.repository(Escalations)
        stale = await repository.stale_drafts(now - domain.DRAFT_LIFETIME)
        for case in stale:
            await repository.delete(case)
        await uow.commit()
    return len(stale)


async def run(deps: Deps) -> None:
    await widen_due(deps)
    await release_held(deps)
    await delete_stale_drafts(deps)


def escalation_job() -> PeriodicJob:
    from bot.runtime import PeriodicJob

    return PeriodicJob("escalations", EVERY, run)
