from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import run_emulator
from storage.db import Database
from tests.conftest import CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Stack


@pytest.fixture
async def stack(
    sqlite_database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator:
        stack = Stack(
            emulator=emulator,
            database=sqlite_database,
            clock=clock,
            randomness=randomness,
            settings=load_settings(data_dir=tmp_path),
        )
        await stack.start_bot()
        try:
            yield stack
        finally:
            await stack.stop_bot()
