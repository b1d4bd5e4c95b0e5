"""A real python-telegram-bot Bot against the emulator over HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken

from bot.sandbox import DEFAULT_TOKEN, Emulator, SandboxError, SandboxUser
from bot.sandbox.media import SAMPLE_PNG
from tests.sandbox.conftest import make_bot

pytestmark = pytest.mark.e2e


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def test_get_me(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == 123456789
    assert me.username == "stegvis_sandbox_bot"


async def test_error_shapes_for_token_and_method(emu: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        wrong = await http.post(f"{emu.bot_api_url}123:wrong/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = await http.post(f"{emu.bot_api_url}{DEFAULT_TOKEN}/fooBar")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        for name in ("GETME", "getme", "getMe"):
            answer = await http.get(f"{emu.bot_api_url}{DEFAULT_TOKEN}/{name}")
            assert answer.json()["result"]["username"] == "stegvis_sandbox_bot"
        as_json = await http.post(
            f"{emu.bot_api_url}{DEFAULT_TOKEN}/sendMessage",
            json={"chat_id": 42, "text": "x"},
        )
        assert as_json.json()["description"] == "Bad Request: chat not found"
    with pytest.raises(InvalidToken):
        async with make_bot(emu, token="123:wrong"):
            pass
    async with make_bot(emu) as tg_bot:
        with pytest.raises(EndPointNotFound):
            await tg_bot.do_api_request("foo_bar")


async def test_send_and_edit_with_inline_keyboard(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    sent = await bot.send_message(
        user.id,
        "<b>Hur mår du?</b>",
        parse_mode="HTML",
        reply_markup=keyboard([("Bra", "mood:good"), ("Dåligt", "mood:bad")]),
    )
    assert sent.text == "Hur mår du?"
    assert sent.entities[0].type == "bold"
    assert sent.chat.id == user.id and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.reply_markup == keyboard([("Bra", "mood:good"), ("Dåligt", "mood:bad")])
    second = await bot.send_message(user.id, "Två")
    assert second.message_id == sent.message_id + 1
    assert isinstance(second.date.timestamp(), float)

    edited = await bot.edit_message_text(
        "Tack!",
        chat_id=user.id,
        message_id=sent.message_id,
        reply_markup=keyboard([("Ångra", "undo")]),
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Tack!" and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)Message is not modified"):
        await bot.edit_message_reply_markup(
            user.id, sent.message_id, reply_markup=keyboard([("Ångra", "undo")])
        )
    # Editing the text without reply_markup drops the keyboard, as on Telegram.
    plain = await bot.edit_message_text("Klart", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(plain, telegram.Message) and plain.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)Message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)

    view = (await emu.client.bot_messages(user.id))[0]
    assert view.text == "Klart" and view.edited and view.buttons == []
    assert await bot.delete_message(user.id, second.message_id)
    with pytest.raises(BadRequest, match=r"(?i)Message to delete not found"):
        await bot.delete_message(user.id, second.message_id)
    everything = await emu.client.messages(user.id)
    assert [m.deleted for m in everything] == [False, True]


async def test_validation_errors(emu: Emulator, bot: telegram.Bot, user: SandboxUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)Message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    await bot.send_message(user.id, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)Button_data_invalid"):
        await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "a" * 65)]))
    with pytest.raises(BadRequest, match=r"(?i)Message text is empty"):
        await bot.send_message(user.id, "   ")
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(4242, "x")
    with pytest.raises(BadRequest, match=r"(?i)Can't parse entities"):
        await bot.send_message(user.id, "10.00", parse_mode="MarkdownV2")
    bad_markups = {
        "{nope": "Bad Request: can't parse reply keyboard markup JSON object",
        json.dumps({"inline_keyboard": [[{"text": "no action"}]]}): (
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard"
        ),
        json.dumps(
            {"inline_keyboard": [[{"text": "two", "url": "https://x.se", "callback_data": "x"}]]}
        ): (
            "Bad Request: can't parse inline keyboard button: "
            "exactly one of the optional fields must be used"
        ),
    }
    async with httpx.AsyncClient(base_url=f"{emu.bot_api_url}{DEFAULT_TOKEN}/") as http:
        for markup, description in bad_markups.items():
            answer = await http.post(
                "sendMessage", data={"chat_id": user.id, "text": "x", "reply_markup": markup}
            )
            assert answer.status_code == 400
            assert answer.json() == {"ok": False, "error_code": 400, "description": description}


async def test_press_button_reaches_bot_as_callback_query(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    question = await bot.send_message(
        user.id, "Kommer du?", reply_markup=keyboard([("Ja", "rsvp:yes"), ("Nej", "rsvp:no")])
    )
    press = await emu.client.press_button(user.id, "Ja")
    updates = await bot.get_updates(timeout=5)
    query = updates[-1].callback_query
    assert query is not None
    assert query.id == press.callback_query_id
    assert query.data == "rsvp:yes"
    assert query.from_user.id == user.id and query.from_user.language_code == "ar"
    assert query.chat_instance
    assert query.message is not None and query.message.message_id == question.message_id
    assert await query.answer("Tack!", show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)Query is too old"):
        await query.answer("again")
    answer = await emu.client.wait_for_callback_answer(user.id, press.callback_query_id, timeout=2)
    assert answer.text == "Tack!" and answer.show_alert

    with pytest.raises(SandboxError) as refused:
        await emu.client.press(user.id, question.message_id, "rsvp:maybe")
    assert refused.value.status == 400
    forged = await emu.client.press(user.id, question.message_id, "admin:delete_all", forge=True)
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5)
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.data == "admin:delete_all"
    assert updates[-1].update_id == forged.update_id


async def test_user_input_arrives_as_updates(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    await emu.client.send_command(user.id, "start", "INV-42")
    await emu.client.send_sticker(user.id)
    await emu.client.send_location(user.id, 59.33, 18.07)
    await emu.client.send_contact(user.id, "+46701234567")
    first = await emu.client.send_text(user.id, "hallå")
    await emu.client.edit_text(user.id, first.message.id, "hallå igen")
    updates = await bot.get_updates(timeout=5)
    command, sticker, location, contact, text, edited = updates
    assert command.message is not None and command.message.text == "/start INV-42"
    assert command.message.parse_entities(["bot_command"]) == {
        command.message.entities[0]: "/start"
    }
    assert sticker.message is not None and sticker.message.sticker is not None
    assert location.message is not None and location.message.location is not None
    assert location.message.location.latitude == pytest.approx(59.33)
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.user_id == user.id
    assert text.message is not None and text.message.from_user is not None
    assert text.message.from_user.username == "amina_h"
    assert edited.edited_message is not None and edited.edited_message.text == "hallå igen"
    assert edited.edited_message.message_id == first.message.id


async def test_long_poll_wakes_on_update(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=4))
    # The emulator bumps its poll generation when the request arrives.
    assert await emu.state.wait_for(lambda: emu.state.poll_generation == 1, 2)
    started = time.monotonic()
    await emu.client.send_text(user.id, "nu")
    updates = await poll
    assert time.monotonic() - started < 1.0
    assert updates[0].message is not None and updates[0].message.text == "nu"


async def test_long_poll_honours_timeout_without_busy_looping(
    emu: Emulator, bot: telegram.Bot
) -> None:
    calls = 0
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        before = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - before >= 0.9
        calls += 1
    stats = await emu.client.stats()
    assert calls <= 3
    assert stats.calls["getUpdates"] == calls


async def test_offset_confirms_and_limit(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    for text in ("ett", "två", "tre"):
        await emu.client.send_text(user.id, text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["ett", "två"]
    again = await bot.get_updates()
    assert len(again) == 3  # nothing confirmed yet
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["tre"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert (await emu.client.stats()).pending_updates == 0
    for text in ("fyra", "fem"):
        await emu.client.send_text(user.id, text)
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["fem"]


async def test_second_poller_ends_the_first(emu: Emulator, bot: telegram.Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=4))
    assert await emu.state.wait_for(lambda: emu.state.poll_generation == 1, 2)
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await first


async def test_photo_and_document_upload_and_download(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    photo_message = await bot.send_photo(
        user.id, SAMPLE_PNG, caption="<i>bild</i>", parse_mode="HTML"
    )
    assert photo_message.caption == "bild"
    largest = photo_message.photo[-1]
    assert (largest.width, largest.height) == (2, 2)
    photo_file = await bot.get_file(largest.file_id)
    assert bytes(await photo_file.download_as_bytearray()) == SAMPLE_PNG

    pdf = b"%PDF-1.4 fake report"
    doc_message = await bot.send_document(user.id, pdf, filename="rapport.pdf")
    assert doc_message.document is not None
    assert doc_message.document.file_name == "rapport.pdf"
    assert doc_message.document.mime_type == "application/pdf"
    doc_file = await bot.get_file(doc_message.document.file_id)
    assert bytes(await doc_file.download_as_bytearray()) == pdf

    again = await bot.send_document(user.id, doc_message.document.file_id)
    assert (
        again.document is not None
        and again.document.file_unique_id == doc_message.document.file_unique_id
    )
    with pytest.raises(BadRequest, match=r"(?i)Can't use file of type Document as Photo"):
        await bot.send_photo(user.id, doc_message.document.file_id)
    with pytest.raises(BadRequest, match=r"(?i)Wrong file identifier"):
        await bot.send_photo(user.id, "no-such-file")
    with pytest.raises(BadRequest, match=r"(?i)Image_process_failed"):
        await bot.send_photo(user.id, pdf)

    view = await emu.client.latest_bot_message(user.id)
    assert view is not None and view.document == doc_message.document.file_id
    assert await emu.client.file_bytes(view.document) == pdf


async def test_user_media_can_be_downloaded_and_copied(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    mentor = await emu.client.create_user("Erik", language_code="sv", role="Mentor", started=True)
    sent = await emu.client.send_photo(user.id, SAMPLE_PNG, caption="kvitto")
    await emu.client.send_voice(user.id, b"OggS-voice")
    updates = await bot.get_updates()
    photo_update, voice_update = updates
    assert photo_update.message is not None and photo_update.message.caption == "kvitto"
    file = await bot.get_file(photo_update.message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == SAMPLE_PNG
    assert voice_update.message is not None and voice_update.message.voice is not None
    assert voice_update.message.voice.mime_type == "audio/ogg"

    copied = await bot.copy_message(mentor.id, user.id, sent.message.id)
    assert isinstance(copied, telegram.MessageId)
    relayed = await emu.client.wait_for_bot_message(mentor.id, after_message_id=0, timeout=2)
    assert relayed.id == copied.message_id
    assert relayed.photo == sent.message.photo and relayed.caption == "kvitto"
    with pytest.raises(BadRequest, match=r"(?i)Message to copy not found"):
        await bot.copy_message(mentor.id, user.id, 999)


async def test_blocked_user_and_my_chat_member(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    await emu.client.block(user.id)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(user.id, "påminnelse")
    await emu.client.unblock(user.id)
    await bot.send_message(user.id, "välkommen tillbaka")
    blocked, unblocked = await bot.get_updates()
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert unblocked.my_chat_member is not None
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    stranger = await emu.client.create_user("Ny")
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(stranger.id, "hej")


async def test_commands_chat_action_and_reply_keyboard(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    await bot.set_my_commands([("start", "Börja"), ("help", "Hjälp")])
    await bot.set_my_commands([("start", "ابدأ")], language_code="ar")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await emu.client.commands_for(user.id) == [("start", "ابدأ")]
    await bot.delete_my_commands(language_code="ar")
    assert [c for c, _ in await emu.client.commands_for(user.id)] == ["start", "help"]
    with pytest.raises(BadRequest, match=r"(?i)Bot_command_invalid"):
        await bot.set_my_commands([("Start!", "x")])

    assert await bot.send_chat_action(user.id, "typing")
    snapshot = await emu.client.snapshot(user.id)
    assert snapshot.chat_action == "typing"
    await bot.send_message(
        user.id,
        "Dela ditt nummer",
        reply_markup=ReplyKeyboardMarkup([["Ja", "Nej"]], one_time_keyboard=True),
    )
    message = await emu.client.latest_bot_message(user.id)
    assert message is not None and message.reply_keyboard == [["Ja", "Nej"]]
    assert message.raw.get("reply_markup") is None  # only inline keyboards are echoed
    await emu.client.send_text(user.id, "Ja")
    assert (await emu.client.snapshot(user.id)).reply_keyboard is None


async def test_album_get_chat_and_methods_not_emulated(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    album = await bot.send_media_group(
        user.id,
        [
            telegram.InputMediaPhoto(SAMPLE_PNG, caption="Sida 1"),
            telegram.InputMediaPhoto(SAMPLE_PNG, caption="Sida 2"),
        ],
    )
    assert len(album) == 2
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert [m.caption for m in album] == ["Sida 1", "Sida 2"]
    assert [m.id for m in await emu.client.bot_messages(user.id)] == [m.message_id for m in album]

    chat = await bot.get_chat(user.id)
    assert chat.first_name == "Amina" and chat.type == "private"

    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{emu.bot_api_url}{DEFAULT_TOKEN}/sendPoll")
    assert answer.status_code == 400
    assert answer.json()["description"] == "Bad Request: the sandbox does not emulate sendPoll"


async def test_polling_survives_a_reset(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    await emu.client.send_text(user.id, "före")
    (before,) = await bot.get_updates()
    poll = asyncio.create_task(bot.get_updates(offset=before.update_id + 1, timeout=4))
    assert await emu.state.wait_for(lambda: emu.state.poll_generation == 2, 2)
    await emu.client.reset()
    again = await emu.client.create_user("Amina", user_id=user.id, started=True)
    await emu.client.send_text(again.id, "efter")
    (after,) = await poll
    assert after.update_id > before.update_id
    assert after.message is not None and after.message.text == "efter"
