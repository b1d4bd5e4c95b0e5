"""Proof of no loss: the dispatcher's process is killed (SIGKILL) in the middle of a
campaign to thousands of recipients, started again, and every recipient gets the message;
only rows in flight at the kill may arrive twice, and the campaign's counts add up."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.domain import campaigns, onboarding
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import Emulator, run_emulator
from bot.schedule import QuietHours
from storage.db import Database
from storage.models import (
    Application,
    Escalation,
    EscalationStatus,
    InboxUpdate,
    OutboxMessage,
    OutboxStatus,
    SelfRatingScore,
)
from storage.uow import UnitOfWork
from tests.conftest import TEST_KEY, CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Person
from tests.outbox_support import FIRST_CHAT, add_people

RECIPIENTS = 3000
STOCKHOLM = ZoneInfo("Europe/Stockholm")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


def dispatcher_env(database: Database, emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEGVIS_")}
    env.update(
        STEGVIS_DATABASE_URL=database.url.render_as_string(hide_password=False),
        STEGVIS_TELEGRAM_BASE_URL=emulator.bot_api_url,
        STEGVIS_BOT_TOKEN=SANDBOX_TOKEN,
        STEGVIS_ENCRYPTION_KEY=TEST_KEY,
        STEGVIS_DATA_DIR=str(tmp_path),
        STEGVIS_DISPATCH_LEASE_SECONDS="2",
        STEGVIS_DISPATCH_RATE="0",
        STEGVIS_DISPATCH_CHAT_RATE="0",
        STEGVIS_LOG_LEVEL="WARNING",
    )
    return env


async def start_dispatcher(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "dispatch",
        "--until-empty",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_dispatcher_killed_mid_campaign_loses_nothing_and_repeats_only_rows_in_flight(
    sqlite_database: Database, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    database = sqlite_database
    # The child process runs on the real clock, so the campaign does too.
    now = SystemClock().now()
    async with run_emulator(SANDBOX_TOKEN) as emulator:
        await add_people(database, emulator, RECIPIENTS, now=now, locales=("sv", "ar", "en"))
        async with UnitOfWork(database) as uow:
            campaign = await campaigns.create_campaign(
                uow,
                name="Informationsträff",
                cohorts=["Lumena vår"],
                texts={
                    "sv": "Träff på torsdag.",
                    "ar": "لقاء يوم الخميس.",
                    "en": "Meeting Thursday.",
                },
                schedule={"kind": "date", "at": (now + timedelta(seconds=1)).isoformat()},
                now=now,
                zone=STOCKHOLM,
                quiet=QuietHours(time(0, 0), time(0, 0)),  # none: the test runs at any hour
            )
            await uow.commit()
        async with UnitOfWork(database) as uow:
            written = await campaigns.materialise_due(uow, now=now, zone=STOCKHOLM)
            await uow.commit()
        assert written.rows == RECIPIENTS

        state = emulator.state
        env = dispatcher_env(database, emulator, tmp_path)
        first = await start_dispatcher(env)
        reached = await state.wait_for(
            lambda: state.stats.calls["sendMessage"] >= RECIPIENTS // 3, within=60
        )
        assert reached, (await first.communicate())[1].decode()[-2000:]
        os.kill(first.pid, signal.SIGKILL)
        await first.wait()
        before_restart = state.stats.calls["sendMessage"]
        async with database.session() as session:
            in_flight = int(
                await session.scalar(
                    select(func.count()).where(OutboxMessage.status == OutboxStatus.SENDING)
                )
                or 0
            )
            in_flight_chats = set(
                (
                    await session.scalars(
                        select(OutboxMessage.chat_id).where(
                            OutboxMessage.status == OutboxStatus.SENDING
                        )
                    )
                ).all()
            )
        assert 0 < before_restart < RECIPIENTS

        second = await start_dispatcher(env)
        out, err = await asyncio.wait_for(second.communicate(), timeout=120)
        assert second.returncode == 0, err.decode()[-2000:]

        per_chat = dict(state.stats.messages_per_chat)
        total = state.stats.calls["sendMessage"]
        texts = {
            chat.id: [m.data.get("text") for m in chat.messages.values()]
            for chat in state.chats.values()
            if chat.id >= FIRST_CHAT
        }

    chats = [FIRST_CHAT + index for index in range(RECIPIENTS)]
    missing = [chat for chat in chats if per_chat.get(chat, 0) == 0]
    twice = {chat for chat in chats if per_chat.get(chat, 0) == 2}
    assert missing == []
    assert max(per_chat[chat] for chat in chats) <= 2
    assert twice <= in_flight_chats  # only rows in flight at the kill were sent again
    assert total == RECIPIENTS + len(twice)
    swedish, arabic = texts[FIRST_CHAT][0], texts[FIRST_CHAT + 1][0]
    assert swedish is not None and arabic is not None
    assert swedish.startswith("Träff på torsdag.")
    assert arabic.startswith("لقاء يوم الخميس.")
    async with UnitOfWork(database) as uow:
        (counted,) = (await campaigns.counts(uow, [campaign])).values()
    assert (counted.sent, counted.pending, counted.failed, counted.total) == (
        RECIPIENTS,
        0,
        0,
        RECIPIENTS,
    )
    record_property("in_flight_at_kill", in_flight)
    record_property("sent_twice", len(twice))
    print(  # the figure the issue asks to report (shown with -s)
        f"\nkilled after {before_restart} of {RECIPIENTS} messages; {in_flight} rows were in "
        f"flight at the kill, {len(twice)} recipients got the message twice"
    )
    assert out  # the restarted dispatcher reports what it did


# The bot itself killed in the middle of each flow


class KilledBot:
    """`stegvis run` as a child process polling the emulator, killed and started again."""

    def __init__(self, env: dict[str, str], emulator: Emulator) -> None:
        self.env = env
        self.emulator = emulator
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        async with asyncio.timeout(60):
            while b"runs as @" not in (line := await process.stdout.readline()):
                assert line, "the bot stopped before it ran"
        self.process = process

    async def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()
        self.process = None
        self.kills += 1

    async def until(self, condition: Callable[[], bool], within: float = 20.0) -> None:
        """Wait for a condition on the emulator's state (in this process: no I/O)."""
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - the emulator's state, looked at often
                await asyncio.sleep(0.005)

    async def kill_while_replying(self, act: Awaitable[object]) -> None:
        """Kill the bot while its reply to `act` is on its way: the answer is stored and the
        reply claimed, and Telegram has not answered the send yet (so it did not deliver)."""
        state = self.emulator.state
        await self.emulator.client.inject_fault("sendMessage", kind="delay", delay=5.0)
        await act
        await self.until(lambda: not state.faults)
        await self.kill()
        await self.start()

    async def kill_on_receipt(self, act: Awaitable[object]) -> None:
        """Kill the bot as soon as it has taken the update from Telegram: the update is
        in its inbox, handled or not, and confirmed to Telegram by the next poll."""
        state = self.emulator.state
        polls = state.stats.calls["getUpdates"]
        await act
        await self.until(lambda: state.stats.calls["getUpdates"] > polls)
        await self.kill()
        await self.start()


async def test_the_bot_killed_in_the_middle_of_each_flow_goes_on_where_it_was(
    sqlite_database: Database, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    database = sqlite_database
    now = SystemClock().now()
    async with UnitOfWork(database) as uow:
        await onboarding.create_cohort(uow, "Lumena vår", now)
        mentor = await onboarding.create_mentor(
            uow, name="Amina Haddad", languages=["sv", "en"], now=now, telegram_user_id=7601
        )
        await onboarding.create_mentor(
            uow,
            name="Eva Lind",
            languages=["sv"],
            now=now,
            telegram_user_id=7602,
            is_coordinator=True,
        )
        invite = await onboarding.create_invite(
            uow,
            now=now,
            randomness=CountingRandomness(),
            valid_for=timedelta(days=1),
            cohort_name="Lumena vår",
            mentor_id=mentor.id,
        )
        await uow.commit()

    async with run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator:
        client = emulator.client
        amina = Person(client, 7601, "Amina")
        await client.create_user("Amina", user_id=7601, language_code="sv", started=True)
        await client.create_user("Eva", user_id=7602, language_code="sv", started=True)
        await client.create_user("Sara", user_id=7611, language_code="sv", started=True)
        await client.create_user("Lina", user_id=7612, language_code="en", started=True)
        sara, lina = Person(client, 7611, "Sara"), Person(client, 7612, "Lina")
        env = dispatcher_env(database, emulator, tmp_path)
        env.update(STEGVIS_BOT_USERNAME=BOT_USERNAME, STEGVIS_WEB_WITH_BOT="false")
        bot = KilledBot(env, emulator)
        await bot.start()
        try:
            # Joining: killed on receipt of the consent.
            await sara.command("start", invite.code)
            picker = await sara.expect("Välj ditt språk", timeout=30)
            await sara.press("Svenska", message=picker)
            notice = await sara.expect("Så hanterar vi dina uppgifter", timeout=30)
            await bot.kill_on_receipt(sara.press("Ja, jag godkänner", message=notice))
            await sara.expect("Välkommen, Sara!", timeout=30)
            await amina.expect("Ny deltagare", timeout=30)

            # Self-rating: killed after two themes, the third question on its way.
            await sara.command("rating")
            question = await sara.expect("Fråga 1 av 6", timeout=30)
            await sara.press("Delvis", message=question)
            question = await sara.expect("Fråga 2 av 6", timeout=30)
            await bot.kill_while_replying(sara.press("Lite", message=question))
            question = await sara.expect("Fråga 3 av 6", timeout=30)
            await sara.press("Till stor del", message=question)
            question = await sara.expect("Fråga 4 av 6", timeout=30)
            await sara.press("Helt", message=question)
            question = await sara.expect("Fråga 5 av 6", timeout=30)
            await sara.press("Delvis", message=question)
            question = await sara.expect("Fråga 6 av 6", timeout=30)
            await sara.press("Lite", message=question)
            await sara.expect("Tack! Här är din självskattning:", timeout=30)

            # Help: killed after the topic was chosen, the next question on its way.
            await sara.command("help")
            topics = await sara.expect("Vad behöver du hjälp med?", timeout=30)
            await bot.kill_while_replying(sara.press("Boende", message=topics))
            await sara.expect("Skriv med egna ord", timeout=30)
            await sara.say("Hyresvärden har sagt upp mitt kontrakt.")
            confirm = await sara.expect("Det här får Amina se:", timeout=30)
            await sara.press("Ja, skicka", message=confirm)
            await sara.expect("Skickat till Amina.", timeout=30)
            notice = await amina.expect("Hjälpärende #", timeout=30)
            assert "Hyresvärden har sagt upp mitt kontrakt." in notice.body

            # Sign-up: killed halfway, on receipt of the name.
            await lina.command("start")
            await lina.press("English", message=await lina.expect("Please choose", timeout=30))
            await lina.press("Yes, I agree", message=await lina.expect("How we handle", timeout=30))
            await lina.expect("What should we call you?", timeout=30)
            await bot.kill_on_receipt(lina.say("Lina"))
            places = await lina.expect("Where do you live?", timeout=30)
            await lina.press("Södertälje", message=places)
            topics = await lina.expect("What do you want help with?", timeout=30)
            await lina.press("Work", message=topics)
            await lina.press("Done", message=topics)
            await lina.press("Woman", message=await lina.expect("What is your gender?", timeout=30))
            check = await lina.expect("Please check your answers", timeout=30)
            await lina.press("Send my application", message=check)
            await lina.expect("Your application has been sent.", timeout=30)
        finally:
            if bot.process is not None:
                bot.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.process.wait(), timeout=30)
        transcripts = {
            user: [m.body for m in await client.bot_messages(user)] for user in (7611, 7612)
        }

    # Every reply arrives; a repeat only for a reply that was on its way at a kill
    # (Telegram may have taken it before the process died), never more than one per kill.
    repeats = 0
    for texts in transcripts.values():
        counts = collections.Counter(texts)
        assert max(counts.values()) <= 2, counts
        repeats += sum(count - 1 for count in counts.values())
    assert repeats <= bot.kills
    for fragment in ("Så hanterar vi dina uppgifter", "Fråga 3 av 6", "Skriv med egna ord"):
        assert 1 <= sum(fragment in text for text in transcripts[7611]) <= 2, fragment
    async with database.session() as session:
        scores = {
            row.theme: row.score for row in (await session.scalars(select(SelfRatingScore))).all()
        }
        (case,) = (await session.scalars(select(Escalation))).all()
        (application,) = (await session.scalars(select(Application))).all()
        waiting = await session.scalar(select(func.count()).select_from(InboxUpdate))
    assert scores == {
        "health": 3,
        "everyday": 2,
        "belief": 4,
        "together": 5,
        "jobsearch": 3,
        "skills": 2,
    }
    assert case.status is not EscalationStatus.DRAFT and application is not None
    assert waiting == 0
    record_property("kills", bot.kills)
    record_property("repeats", repeats)
    print(f"\nkilled {bot.kills} times in the middle of four flows; {repeats} messages repeated")
