"""Fixtures: a running emulator, a python-telegram-bot Bot talking to it, a user."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.request import HTTPXRequest

from bot.sandbox import DEFAULT_TOKEN, Emulator, SandboxUser, run_emulator


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int today and a timedelta in a coming release."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def make_bot(emu: Emulator, token: str = DEFAULT_TOKEN, read_timeout: float = 5.0) -> telegram.Bot:
    return telegram.Bot(
        token,
        base_url=emu.bot_api_url,
        base_file_url=emu.file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
        get_updates_request=HTTPXRequest(read_timeout=5.0, connect_timeout=2.0),
    )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[telegram.Bot]:
    async with make_bot(emu) as tg_bot:
        yield tg_bot


@pytest.fixture
async def user(emu: Emulator) -> SandboxUser:
    """A user who has already started the bot, so the bot may write to them."""
    return await emu.client.create_user(
        "Amina", last_name="Haddad", username="amina_h", language_code="ar", started=True
    )
