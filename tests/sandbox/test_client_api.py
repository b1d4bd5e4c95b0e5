"""The /sandbox client API: users, chat views, long-poll waits, guards, the web page."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import telegram

from bot.sandbox import Persona, SandboxError, SandboxUser, run_emulator
from bot.sandbox.emulator import Emulator

pytestmark = pytest.mark.e2e


async def test_wait_for_bot_message_is_event_driven(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    sent = await emu.client.send_text(user.id, "hej")
    waiting = asyncio.create_task(emu.client.wait_for_bot_message(user.id, timeout=5))
    first = await bot.send_message(user.id, "Svar ett")
    started = time.monotonic()
    message = await waiting
    assert time.monotonic() - started < 1.0
    assert message.id == first.message_id and message.text == "Svar ett"

    later = asyncio.create_task(
        emu.client.wait_for_bot_message(
            user.id, sent.message.id, timeout=5, predicate=lambda m: "tre" in m.body
        )
    )
    await bot.send_message(user.id, "Svar två")
    await bot.send_message(user.id, "Svar tre")
    assert (await later).text == "Svar tre"
    with pytest.raises(TimeoutError, match="no matching bot message"):
        await emu.client.wait_for_bot_message(user.id, first.message_id + 10, timeout=0.3)


async def test_chat_view_in_both_directions(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    await emu.client.send_command(user.id, "start")
    photo = await bot.send_photo(user.id, emu_png(), caption="Bild")
    await bot.delete_message(user.id, photo.message_id)
    messages = await emu.client.messages(user.id)
    assert [(m.from_bot, m.deleted) for m in messages] == [(False, False), (True, True)]
    assert 0 < messages[0].sent_at <= messages[1].sent_at
    assert messages[1].photo == photo.photo[-1].file_id
    assert messages[1].media_url == f"/sandbox/files/{photo.photo[-1].file_id}"
    after = await emu.client.messages(user.id, after_message_id=messages[0].id)
    assert [m.id for m in after] == [messages[1].id]
    assert await emu.client.bot_messages(user.id) == []
    assert len(await emu.client.bot_messages(user.id, include_deleted=True)) == 1


def emu_png() -> bytes:
    from bot.sandbox.media import SAMPLE_PNG

    return SAMPLE_PNG


async def test_users_personas_and_refusals() -> None:
    personas = [
        Persona(1001, "Amina", language_code="ar", role="Participant"),
        Persona(2001, "Erik", language_code="sv", role="Mentor"),
    ]
    async with run_emulator(personas=personas) as emu:
        client = emu.client
        info = await client.info()
        assert [p["role"] for p in info["personas"]] == ["Participant", "Mentor"]
        assert info["bot_api_url"] == emu.bot_api_url
        users = {u.id: u for u in await client.users()}
        assert users[1001].language_code == "ar" and not users[1001].started
        updated = await client.update_user(1001, username="amina", language_code="en")
        assert updated.username == "amina" and updated.language_code == "en"
        created = await client.create_user("Lina")
        assert created.id not in (1001, 2001)
        with pytest.raises(SandboxError) as unknown:
            await client.send_text(999, "x")
        assert unknown.value.status == 404
        sent = await client.send_text(1001, "hej")
        with pytest.raises(SandboxError) as not_bot:
            await client.press(1001, sent.message.id, "x", forge=True)
        assert not_bot.value.status == 404
        await client.block(1001)
        with pytest.raises(SandboxError) as blocked:
            await client.send_text(1001, "x")
        assert blocked.value.status == 409
        await client.reset()
        assert [u.id for u in await client.users()] == [1001, 2001]
        assert (await client.stats()).total_calls == 0


async def test_client_api_answers_loopback_names_only(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url) as http:
        assert (await http.get("/sandbox/stats")).status_code == 200
        rebound = await http.get("/sandbox/stats", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 403
        form = await http.post("/sandbox/users", data={"first_name": "x"})
        assert form.status_code == 415


async def test_web_page_and_assets_are_served(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url) as http:
        for path in ("/", "/chat"):
            page = await http.get(path)
            assert page.status_code == 200
            assert "text/html" in page.headers["content-type"]
            assert "/static/app.js" in page.text
        for asset in ("/static/app.js", "/static/style.css"):
            assert (await http.get(asset)).status_code == 200
