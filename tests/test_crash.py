"""Proof of no loss: the dispatcher's process is killed (SIGKILL) in the middle of a
campaign to thousands of recipients, started again, and every recipient gets the message;
only rows in flight at the kill may arrive twice, and the campaign's counts add up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.domain import campaigns
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import Emulator, run_emulator
from bot.schedule import QuietHours
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from storage.uow import UnitOfWork
from tests.conftest import TEST_KEY
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
    sqlite_database: Database, tmp_path: Path, record_property: pytest.RecordProperty
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
    assert texts[FIRST_CHAT][0].startswith("Träff på torsdag.")
    assert texts[FIRST_CHAT + 1][0].startswith("لقاء يوم الخميس.")
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
