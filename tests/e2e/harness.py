"""The end-to-end stack: the Bot API emulator, the real bot polling it over HTTP, a database.

Tests act as Telegram users through the sandbox client and read what the bot sent; the
bot runs exactly as in production (inbox, handlers, outbox, dispatcher), only its base
URL points at the emulator and its clock is a manual one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import ManualClock, Randomness
from bot.config import Settings
from bot.domain import onboarding as domain
from bot.runtime import SANDBOX_TOKEN, BotRuntime, PeriodicJob
from bot.sandbox.client import ChatMessage, Press, SandboxClient
from bot.sandbox.emulator import Emulator
from storage.db import Database
from storage.models import InviteKind
from storage.uow import UnitOfWork

BOT_USERNAME = "stegvis_test_bot"


@dataclass
class Stack:
    emulator: Emulator
    database: Database
    clock: ManualClock
    randomness: Randomness
    settings: Settings
    jobs: Sequence[PeriodicJob] = ()
    runtime: BotRuntime | None = None
    people: dict[int, Person] = field(default_factory=dict)
    # Settings the bot under test runs with beside the harness's own (a short read
    # timeout, say, for tests of Telegram faults).
    overrides: dict[str, object] = field(default_factory=dict)

    @property
    def client(self) -> SandboxClient:
        return self.emulator.client

    def bot_settings(self, **overrides: object) -> Settings:
        return self.settings.model_copy(
            update={
                "telegram_base_url": self.emulator.bot_api_url,
                "telegram_file_url": self.emulator.file_url,
                "bot_username": BOT_USERNAME,
                # Test users answer within milliseconds; pacing has tests of its own.
                "dispatch_chat_rate": 0,
                **overrides,
            }
        )

    async def start_bot(self) -> BotRuntime:
        runtime = BotRuntime(
            self.bot_settings(**self.overrides),
            self.database,
            token=SANDBOX_TOKEN,
            clock=self.clock,
            randomness=self.randomness,
            jobs=self.jobs,
            poll_timeout=5,
            dispatch_interval=0.2,
        )
        await runtime.start()
        self.runtime = runtime
        return runtime

    async def stop_bot(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None

    async def restart_bot(self) -> BotRuntime:
        await self.stop_bot()
        return await self.start_bot()

    async def deliver_raw(self, payload: dict[str, object]) -> None:
        """Hand the bot an update Telegram itself would never send (a text over its limit,
        say), as if it had arrived, and wait until it is handled."""
        assert self.runtime is not None
        for handled in await self.runtime.accept([payload]):
            await handled

    async def person(
        self, user_id: int, first_name: str, language_code: str = "sv", *, started: bool = True
    ) -> Person:
        """A Telegram user; `started` means they have opened the bot before, so it may
        write to them first (Telegram refuses that otherwise)."""
        await self.client.create_user(
            first_name, user_id=user_id, language_code=language_code, started=started
        )
        person = Person(self.client, user_id, first_name)
        self.people[user_id] = person
        return person

    # Staff actions, as the CLI does them

    async def cohort(self, name: str = "Lumena vår") -> str:
        async with UnitOfWork(self.database) as uow:
            cohort = await domain.create_cohort(uow, name, self.clock.now())
            await uow.commit()
            return cohort.name

    async def mentor(
        self,
        name: str = "Amina Haddad",
        languages: Sequence[str] = ("sv", "ar"),
        telegram_user_id: int | None = None,
        **options: object,
    ) -> int:
        async with UnitOfWork(self.database) as uow:
            mentor = await domain.create_mentor(
                uow,
                name=name,
                languages=list(languages),
                now=self.clock.now(),
                telegram_user_id=telegram_user_id,
                **options,  # type: ignore[arg-type]
            )
            await uow.commit()
            return mentor.id

    async def invite(
        self,
        cohort: str | None = "Lumena vår",
        mentor_id: int | None = None,
        *,
        kind: InviteKind = InviteKind.PARTICIPANT,
        valid_for: timedelta = timedelta(days=30),
    ) -> str:
        async with UnitOfWork(self.database) as uow:
            invite = await domain.create_invite(
                uow,
                now=self.clock.now(),
                randomness=self.randomness,
                valid_for=valid_for,
                cohort_name=cohort,
                mentor_id=mentor_id,
                kind=kind,
            )
            await uow.commit()
            return invite.code


def _has_button(message: ChatMessage, label: str) -> bool:
    return any(label.casefold() in text.casefold() for text in message.button_labels)


class Person:
    """A Telegram user in the emulator, reading the bot's messages in order."""

    def __init__(self, client: SandboxClient, user_id: int, first_name: str) -> None:
        self.client = client
        self.user_id = user_id
        self.first_name = first_name
        self.cursor = 0

    async def _mark(self) -> None:
        messages = await self.client.messages(self.user_id)
        self.cursor = max((message.id for message in messages), default=0)

    async def say(self, text: str) -> None:
        await self._mark()
        await self.client.send_text(self.user_id, text)

    async def command(self, command: str, args: str | None = None) -> None:
        await self._mark()
        await self.client.send_command(self.user_id, command, args)

    async def sticker(self) -> None:
        await self._mark()
        await self.client.send_sticker(self.user_id)

    async def press(self, label: str, message: ChatMessage | None = None) -> Press:
        """Press the button whose label contains `label`: on `message`, or on the latest
        message with buttons, waiting for the bot to send one that has it."""
        if message is None:
            message = await self.client.latest_bot_message(self.user_id, with_buttons=True)
            if message is None or not _has_button(message, label):
                message = await self.client.wait_for_bot_message(
                    self.user_id,
                    after_message_id=message.id if message else self.cursor,
                    predicate=lambda candidate: _has_button(candidate, label),
                )
        await self._mark()
        return await self.client.press(self.user_id, message.id, message.button_data(label))

    async def forge(self, data: str, message: ChatMessage | None = None) -> Press:
        await self._mark()
        target = message or await self.client.latest_bot_message(self.user_id)
        assert target is not None, "the bot has not written yet"
        return await self.client.press(self.user_id, target.id, data, forge=True)

    async def expect(self, *fragments: str, timeout: float = 10.0) -> ChatMessage:  # noqa: ASYNC109
        """The next bot message containing every fragment; earlier messages are skipped."""

        def matches(message: ChatMessage) -> bool:
            return all(fragment in message.body for fragment in fragments)

        message = await self.client.wait_for_bot_message(
            self.user_id, after_message_id=self.cursor, timeout=timeout, predicate=matches
        )
        self.cursor = message.id
        return message

    async def expect_answer(self, press: Press, timeout: float = 10.0) -> str | None:  # noqa: ASYNC109
        answer = await self.client.wait_for_callback_answer(
            self.user_id, press.callback_query_id, timeout
        )
        return answer.text

    async def bot_messages(self) -> list[ChatMessage]:
        return await self.client.bot_messages(self.user_id)
