"""Messages the bot sends on its own to a participant's mentor, in the mentor's language.

Used from handlers and from periodic jobs alike, so it takes the unit of work and the
dependencies rather than a Turn. Everything goes through the outbox with a key, so a
job that runs twice, or an update handled again after a crash, tells a mentor once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from telegram import Message, Update

from bot.i18n import Translator
from bot.messaging import Keyboard, Notifier
from bot.turn import Deps
from storage.models import Mentor, OutboxKind, Participant
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


async def mentors_of(
    uow: UnitOfWork, participant: Participant, *, or_coordinators: bool
) -> list[Mentor]:
    """The participant's mentor; with none assigned, the project's coordinators if asked."""
    if participant.mentor_id is not None:
        mentor = await uow.mentors.get(participant.mentor_id)
        if mentor is not None and mentor.active and mentor.telegram_user_id is not None:
            return [mentor]
    if not or_coordinators:
        return []
    rows = await uow.session.scalars(
        select(Mentor).where(
            Mentor.is_coordinator, Mentor.active, Mentor.telegram_user_id.is_not(None)
        )
    )
    return list(rows)


async def tell_mentors(
    uow: UnitOfWork,
    deps: Deps,
    participant: Participant,
    render: Callable[[Translator], str],
    *,
    key: str,
    or_coordinators: bool = False,
    buttons: Callable[[Translator], Keyboard] | None = None,
) -> int:
    """Queue a message for the participant's mentor (or coordinators); how many were told."""
    notifier = Notifier(uow, deps.clock)
    recipients = await mentors_of(uow, participant, or_coordinators=or_coordinators)
    for mentor in recipients:
        assert mentor.telegram_user_id is not None
        t = deps.translator(mentor.locale or deps.settings.default_locale)
        await notifier.send_text(
            mentor.telegram_user_id,
            render(t),
            key=f"{key}:m{mentor.id}",
            kind=OutboxKind.NOTIFICATION,
            buttons=buttons(t) if buttons else None,
            mentor_id=mentor.id,
        )
    if not recipients:
        log.warning("participant=%s notice %s has nobody to go to", participant.public_id, key)
    return len(recipients)


def command_args(update: Update) -> list[str]:
    """The words after a command: `/step P7K3Q internship` -> ["P7K3Q", "internship"]."""
    message: Message | None = update.effective_message
    if message is None or not message.text:
        return []
    return message.text.split()[1:]
