"""One update, one turn: who is acting, in which language, in one transaction.

Every handler is wrapped by `turn_handler`, which does once per update what would
otherwise be repeated everywhere (aiogram's middleware idea): it finds the participant or
mentor behind the update and their conversation state, binds gettext to their language,
opens the unit of work, and commits once. Replies are outbox rows written in that same
transaction and sent right after the commit, so an answer is never stored without the
reply that acknowledges it, nor a reply sent for an answer that was rolled back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import CallbackContext, ExtBot

from bot.callbacks import CallbackData, parse
from bot.clock import Clock, Randomness
from bot.config import Settings
from bot.i18n import Translator, resolve_locale, translator
from bot.messaging import (
    Keyboard,
    Notifier,
    edit_payload,
    file_payload,
    remove_buttons_payload,
    split_text,
    text_payload,
)
from storage.db import Database, unreachable
from storage.models import Conversation, Mentor, OutboxKind, Participant
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.dispatch import Dispatcher
    from bot.flows.registry import FlowRegistry

log = logging.getLogger(__name__)


class TurnOutcome(IntEnum):
    """How a turn ended, in rising weight."""

    STORED = 1  # committed, deleting its inbox row with it: nothing left to forget
    FAILED = 2  # a fault in the handling: a failed attempt, tried again later
    UNAVAILABLE = 3  # the database could not be reached: not an attempt, tried again


@dataclass
class Deps:
    """What every handler may use; built once in `main()` and passed down."""

    settings: Settings
    database: Database
    clock: Clock
    randomness: Randomness
    registry: FlowRegistry
    bot_username: str = "stegvis_bot"
    dispatcher: Dispatcher | None = None
    # How each update's turn ended, read (and taken away) by the inbox once PTB is done.
    turn_outcomes: dict[int, TurnOutcome] = field(default_factory=dict)

    def record_outcome(self, update_id: int, outcome: TurnOutcome) -> None:
        """Keep the weightiest outcome of an update's turns: a failure is not hidden by
        another handler of the same update that stored."""
        current = self.turn_outcomes.get(update_id)
        if current is None or outcome > current:
            self.turn_outcomes[update_id] = outcome

    def unit_of_work(self, inbox_update_id: int | None = None) -> UnitOfWork:
        return UnitOfWork(self.database, inbox_update_id=inbox_update_id)

    def translator(self, locale: str) -> Translator:
        return translator(locale, self.settings.timezone)


class BotData:
    """PTB builds bot_data with no arguments; the dependencies are attached after."""

    deps: Deps


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def deps(self) -> Deps:
        return self.bot_data.deps


@dataclass(frozen=True)
class Actor:
    """The Telegram user behind an update, as plain values."""

    telegram_user_id: int
    chat_id: int
    first_name: str
    language_code: str | None


class Turn:
    """What a flow handler works with: plain values, the unit of work, bound gettext."""

    def __init__(
        self,
        *,
        update_id: int,
        deps: Deps,
        uow: UnitOfWork,
        actor: Actor,
        participant: Participant | None,
        mentor: Mentor | None,
        conversation: Conversation | None,
        locale: str,
        callback: CallbackData | None,
        callback_message_id: int | None,
    ) -> None:
        self.update_id = update_id
        self.deps = deps
        self.uow = uow
        self.clock: Clock = deps.clock
        self.actor = actor
        self.participant = participant
        self.mentor = mentor
        self.conversation = conversation
        self.callback = callback
        self.callback_message_id = callback_message_id
        self.t = deps.translator(locale)
        self.notifier = Notifier(uow, deps.clock)
        self._reply_count = 0
        self._claimed_ids: list[int] = []
        self.callback_answer: tuple[str | None, bool] = (None, False)

    @property
    def locale(self) -> str:
        return self.t.locale

    def set_locale(self, locale: str) -> None:
        self.t = self.deps.translator(locale)

    @property
    def step(self) -> tuple[str, str] | None:
        if self.conversation is None:
            return None
        return self.conversation.flow, self.conversation.step

    async def set_state(
        self, flow: str, step: str, data: dict[str, Any] | None = None, locale: str | None = None
    ) -> None:
        self.conversation = await self.uow.conversations.set(
            self.actor.telegram_user_id,
            flow=flow,
            step=step,
            data=data,
            locale=locale,
            now=self.clock.now(),
            current=self.conversation,
        )

    async def clear_state(self) -> None:
        await self.uow.conversations.clear(self.actor.telegram_user_id, current=self.conversation)
        self.conversation = None

    async def _queue(self, payload: dict[str, Any]) -> None:
        self._reply_count += 1
        now = self.clock.now()
        row = await self.uow.outbox.add(
            chat_id=self.actor.chat_id,
            payload=payload,
            key=f"reply:{self.update_id}:{self._reply_count}",
            kind=OutboxKind.REPLY,
            priority=10,
            due_at=now,
            now=now,
            participant_id=self.participant.id if self.participant else None,
            mentor_id=self.mentor.id if self.mentor else None,
            # A process killed before the reply went out leaves it to the dispatcher after
            # the same lease as any claimed row.
            claimed_until=now + timedelta(seconds=self.deps.settings.dispatch_lease_seconds),
        )
        if row is not None:
            self._claimed_ids.append(row.id)

    async def reply(self, text: str, buttons: Keyboard | None = None) -> None:
        parts = split_text(text)
        for index, part in enumerate(parts):
            await self._queue(text_payload(part, buttons if index == len(parts) - 1 else None))

    async def reply_file(
        self,
        method: str,
        content: bytes,
        *,
        filename: str,
        caption: str | None = None,
        buttons: Keyboard | None = None,
    ) -> None:
        await self._queue(
            file_payload(method, content, filename=filename, caption=caption, buttons=buttons)
        )

    async def edit(self, message_id: int, text: str, buttons: Keyboard | None = None) -> None:
        await self._queue(edit_payload(message_id, text, buttons))

    async def remove_buttons(self, message_id: int) -> None:
        await self._queue(remove_buttons_payload(message_id))

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """What the small notice on a pressed button says (shown after the commit)."""
        self.callback_answer = (text, alert)

    @property
    def claimed_reply_ids(self) -> list[int]:
        return list(self._claimed_ids)


TurnCallback = Callable[[Turn, Update], Awaitable[None]]
PtbCallback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def turn_handler(fn: TurnCallback) -> PtbCallback:
    """Wrap a flow handler: resolve the actor and locale, one transaction, replies after."""

    @functools.wraps(fn)
    async def callback(update: Update, context: Context) -> None:
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None or chat.type != "private" or user.is_bot:
            return
        deps = context.deps
        query = update.callback_query
        turn: Turn | None = None
        try:
            async with deps.unit_of_work(inbox_update_id=update.update_id) as uow:
                participant = await uow.participants.by_telegram_id(user.id)
                mentor = await uow.mentors.by_telegram_id(user.id)
                conversation = await uow.conversations.get(user.id)
                stored = (
                    (participant.locale if participant else None)
                    or (mentor.locale if mentor else None)
                    or (conversation.locale if conversation else None)
                )
                locale = resolve_locale(stored, user.language_code, deps.settings.default_locale)
                turn = Turn(
                    update_id=update.update_id,
                    deps=deps,
                    uow=uow,
                    actor=Actor(
                        telegram_user_id=user.id,
                        chat_id=chat.id,
                        first_name=user.first_name,
                        language_code=user.language_code,
                    ),
                    participant=participant,
                    mentor=mentor,
                    conversation=conversation,
                    locale=locale,
                    callback=parse(query.data) if query else None,
                    callback_message_id=(
                        query.message.message_id if query and query.message else None
                    ),
                )
                await fn(turn, update)
                await uow.commit()
                deps.record_outcome(update.update_id, TurnOutcome.STORED)
        except Exception as error:
            if unreachable(error):
                # Logged once per outage by the inbox, which tries the update again.
                log.debug("update=%s database unreachable", update.update_id)
                deps.record_outcome(update.update_id, TurnOutcome.UNAVAILABLE)
                return
            log.exception(
                "update=%s user=%s handler=%s failed", update.update_id, user.id, fn.__name__
            )
            deps.record_outcome(update.update_id, TurnOutcome.FAILED)
            return
        log.info("update=%s user=%s handler=%s", update.update_id, user.id, fn.__name__)
        if query is not None:
            text, alert = turn.callback_answer
            try:
                await query.answer(text=text, show_alert=alert)
            except Exception:  # the notice is a courtesy; the answer is stored
                log.warning("update=%s callback answer failed", update.update_id)
        if deps.dispatcher is not None:
            if turn.claimed_reply_ids:
                await deps.dispatcher.send_claimed(turn.claimed_reply_ids)
            deps.dispatcher.wake()

    return callback
