"""One bot process: the inbox that makes updates durable, the handlers, the outbox, the jobs.

Updates are written to the inbox table before Telegram is told they arrived (the next
getUpdates call confirms them), then handled; the handler's transaction deletes its inbox
row together with the effects it stores. A process killed at any point therefore loses no
update and applies none twice: on start it handles what the inbox still holds.

Updates of one chat are handled one after another, in order; different chats in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot import inbox
from bot.app import StegvisApplication, build_application
from bot.clock import Clock, Randomness, SystemClock, SystemRandomness
from bot.config import SUPPORTED_LOCALES, Settings, SettingsError
from bot.dispatch import Dispatcher, DispatchPolicy, retry_after_seconds
from bot.flows.registry import FlowRegistry, Role
from bot.i18n import resolve_locale, translator
from bot.inbox import InboxProcessor
from bot.telegram_http import sending_bot
from bot.turn import Deps, TurnOutcome
from storage.crypto import CryptoError, Keyring, generate_key, install_keyring
from storage.db import Database, DatabaseUnavailable, Outage, report_failure, unreachable
from storage.models import OutboxKind
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "123456:SANDBOX-stegvis-local-token"  # noqa: S105 - not a secret


def configure_encryption(settings: Settings) -> Keyring:
    """The keyring for free text. Outside the sandbox a missing key stops the start."""
    old = (
        [key for key in settings.encryption_old_keys.get_secret_value().split(",") if key.strip()]
        if settings.encryption_old_keys
        else []
    )
    if settings.encryption_key is not None and settings.encryption_key.get_secret_value():
        key = settings.encryption_key.get_secret_value()
    elif settings.sandbox:
        key = _sandbox_key(settings.data_dir)
    else:
        raise SettingsError(
            "STEGVIS_ENCRYPTION_KEY: required when a bot token is set "
            "(make one with `stegvis keys generate` and keep it safe)"
        )
    try:
        keyring = Keyring(key, old)
    except CryptoError as error:
        raise SettingsError(f"STEGVIS_ENCRYPTION_KEY: {error}") from None
    install_keyring(keyring)
    return keyring


def _sandbox_key(data_dir: Path) -> str:
    """The sandbox keeps a key of its own next to its database, made on first start."""
    path = data_dir / "sandbox.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class PeriodicJob:
    """Work a process does every so often (materialise due check-ins, say): reads the
    database, writes the outbox; nothing per participant is held in memory."""

    name: str
    every: timedelta
    run: Callable[[Deps], Awaitable[object]]


def poll_backoff(failures: int) -> float:
    """The wait after the nth failure in a row to fetch or store updates: 1 s doubling to 30."""
    return min(30.0, 0.5 * 2.0 ** min(failures, 6))


class BotRuntime:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        token: str,
        clock: Clock | None = None,
        randomness: Randomness | None = None,
        jobs: Sequence[PeriodicJob] = (),
        poll_timeout: int = 30,
        dispatch_interval: float = 1.0,
        dispatch_policy: DispatchPolicy | None = None,
        concurrency: int = 32,
        inbox_lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.settings = settings
        self.database = database
        self.deps = Deps(
            settings=settings,
            database=database,
            clock=clock or SystemClock(),
            randomness=randomness or SystemRandomness(),
            registry=FlowRegistry(),
            bot_username=settings.bot_username or "stegvis_bot",
        )
        self.application: StegvisApplication = build_application(self.deps, token)
        policy = dispatch_policy or DispatchPolicy.from_settings(settings)
        self.sending_bot = sending_bot(token, settings, policy.concurrency + 8)
        self.dispatcher = Dispatcher(
            database,
            self.sending_bot,
            self.deps.clock,
            policy,
            self.deps.randomness,
            settings.zone,
        )
        self.deps.dispatcher = self.dispatcher
        self.jobs = list(jobs)
        self.poll_timeout = poll_timeout
        self.dispatch_interval = dispatch_interval
        self.outage = Outage()
        self.inbox = InboxProcessor(
            database,
            self.deps.clock,
            self._handle,
            concurrency=concurrency,
            lease=inbox_lease,
            outage=self.outage,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.handled = 0

    @property
    def bot(self) -> Any:
        return self.application.bot

    async def start(self, *, polling: bool = True) -> None:
        await self.application.initialize()
        await self.sending_bot.initialize()
        await self.application.start()
        me = self.application.bot
        if not self.settings.bot_username and me.username:
            self.deps.bot_username = me.username
        await self._publish_commands()
        self._tasks.append(asyncio.create_task(self.inbox.run_forever(self._stop), name="inbox"))
        if polling:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
            self._tasks.append(asyncio.create_task(self._poll(), name="poll"))
        self._tasks.append(
            asyncio.create_task(
                self.dispatcher.run_forever(self._stop, self.dispatch_interval), name="dispatch"
            )
        )
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._repeat(job), name=job.name))
        log.info("bot started as @%s", self.deps.bot_username)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking new work, let what is in hand finish (a message being sent is
        recorded as sent), then shut down. Cancelled only past the grace period."""
        self._stop.set()
        self.dispatcher.wake()
        self.inbox.close()
        for task in self._tasks:
            if task.get_name() == "poll":
                task.cancel()  # an unconfirmed getUpdates loses nothing
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.inbox.drain()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        await self.sending_bot.shutdown()

    async def _publish_commands(self) -> None:
        """Telegram's command list, in each language the bot speaks."""
        commands = self.deps.registry.commands_for(Role.PARTICIPANT)
        try:
            for locale in SUPPORTED_LOCALES:
                t = translator(locale, self.settings.timezone)
                await self.application.bot.set_my_commands(
                    [BotCommand(command.name, t(command.description)) for command in commands],
                    language_code=locale,
                )
        except TelegramError as error:
            if isinstance(error, InvalidToken):
                raise
            log.warning("could not publish the command list (%s); continuing", type(error).__name__)

    # The inbox

    async def accept(self, updates: Iterable[dict[str, Any]]) -> list[asyncio.Future[None]]:
        """Store updates durably and wake the processor; futures that complete when this
        process has handled each one (another worker may handle some instead)."""
        ids = await inbox.store(self.database, updates, self.deps.clock)
        futures = [self.inbox.done(update_id) for update_id in ids]
        self.inbox.wake()
        return futures

    async def _handle(self, update_id: int, payload: dict[str, Any], attempt: int) -> bool:
        """Handle one claimed update; False asks for another try later."""
        deps = self.deps
        try:
            parsed = Update.de_json(payload, self.application.bot)
        except Exception as error:
            # A malformed update, or one from a newer Bot API: nothing to answer it with.
            log.warning(
                "update=%s could not be read (%s); dropped", update_id, type(error).__name__
            )
            await inbox.forget(self.database, update_id)
            return True
        if attempt > self.settings.update_attempts:
            await self._give_up(update_id, parsed)
            return True
        deps.turn_outcomes.pop(update_id, None)
        await self.application.process_update(parsed)
        outcome = deps.turn_outcomes.pop(update_id, None)
        if outcome is TurnOutcome.UNAVAILABLE:
            # Not this attempt's fault: the inbox keeps the update and tries it again.
            raise DatabaseUnavailable(update_id)
        if outcome is TurnOutcome.FAILED:
            log.warning("update=%s attempt %s failed", update_id, attempt)
            return False
        if outcome is not TurnOutcome.STORED:
            # Handlers that stored nothing (a chat that is not private, say) leave the row;
            # a turn that committed deleted it in its own transaction.
            await inbox.forget(self.database, update_id)
        self.handled += 1
        return True

    async def _give_up(self, update_id: int, parsed: Update) -> None:
        """Tell the person, in their language, that this did not work; keep nothing of it."""
        log.error("update=%s given up after %s attempts", update_id, self.settings.update_attempts)
        user = parsed.effective_user
        chat = parsed.effective_chat
        async with UnitOfWork(self.database, inbox_update_id=update_id) as uow:
            if user is not None and chat is not None and chat.type == "private":
                participant = await uow.participants.by_telegram_id(user.id)
                locale = resolve_locale(
                    participant.locale if participant else None,
                    user.language_code,
                    self.settings.default_locale,
                )
                t = translator(locale, self.settings.timezone)
                now = self.deps.clock.now()
                from bot.messaging import text_payload

                await uow.outbox.add(
                    chat_id=chat.id,
                    payload=text_payload(
                        t("Sorry, something went wrong on our side. Please try again in a moment.")
                    ),
                    key=f"failed:{update_id}",
                    kind=OutboxKind.REPLY,
                    due_at=now,
                    now=now,
                    priority=10,
                )
            await uow.commit()
        self.dispatcher.wake()

    # Loops

    async def _poll(self) -> None:
        offset: int | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                updates = await self.application.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=Update.ALL_TYPES
                )
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stops")
                raise
            except RetryAfter as error:
                # Flood control on getUpdates itself: wait as told, then ask again.
                delay = retry_after_seconds(error)
                log.warning("getUpdates: retry after %.1fs", delay)
                await self._wait(delay)
                continue
            except (TimedOut, NetworkError, TelegramError) as error:
                # Any other answer (5xx, a dropped connection, a Conflict while another
                # poller finishes) must not end polling: unconfirmed updates come again.
                failures += 1
                delay = poll_backoff(failures)
                log.warning("getUpdates failed (%s); again in %.1fs", type(error).__name__, delay)
                await self._wait(delay)
                continue
            if updates:
                try:
                    await self.accept([update.to_dict() for update in updates])
                except Exception as error:
                    # Not stored, so not confirmed: the same updates come again next time.
                    failures += 1
                    if unreachable(error):
                        self.outage.failed(error, f"storing update={updates[0].update_id}")
                        await self._wait(self.outage.delay(failures))
                        continue
                    delay = poll_backoff(failures)
                    log.error(
                        "storing updates failed (%s); again in %.1fs", type(error).__name__, delay
                    )
                    await self._wait(delay)
                    continue
                self.outage.answered()
                offset = updates[-1].update_id + 1
            failures = 0

    async def _repeat(self, job: PeriodicJob) -> None:
        while not self._stop.is_set():
            try:
                await job.run(self.deps)
            except Exception as error:
                report_failure(
                    log, error, "job %s failed; it runs again at the next tick", job.name
                )
            self.dispatcher.wake()
            await self._wait(job.every.total_seconds())

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
