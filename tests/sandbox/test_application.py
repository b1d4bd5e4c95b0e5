"""python-telegram-bot's Application, polling the emulator like it would poll Telegram."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import DEFAULT_TOKEN, Emulator

pytestmark = pytest.mark.e2e


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    text = update.effective_message.text
    await update.effective_message.reply_text(f"Du skrev: {text}", do_quote=True)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Bra 🙂", callback_data="mood:good")]])
    code = context.args[0] if context.args else "-"
    await update.effective_message.reply_text(f"Välkommen! Kod: {code}", reply_markup=markup)


async def mood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Sparat")
    await query.edit_message_text(f"Tack! ({query.data})")


async def test_application_polling_round_trip(emu: Emulator) -> None:
    application = (
        Application.builder()
        .token(DEFAULT_TOKEN)
        .base_url(emu.bot_api_url)
        .base_file_url(emu.file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(mood))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    client = emu.client
    user = await client.create_user("Sara", language_code="sv")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=2, poll_interval=0)
        try:
            await _conversation(emu, user.id)
        finally:
            await application.updater.stop()
            await application.stop()
    stats = await client.stats()
    # Long polling, not spinning: a handful of getUpdates calls for the whole exchange.
    assert stats.calls["getUpdates"] < 15
    assert stats.pending_updates == 0


async def _conversation(emu: Emulator, user_id: int) -> None:
    """Start with an invite code, press a button, then chat: all through the emulator."""
    client = emu.client
    sent = await client.send_command(user_id, "start", "QR-7")
    welcome = await client.wait_for_bot_message(user_id, sent.message.id, timeout=5)
    assert welcome.text == "Välkommen! Kod: QR-7"
    assert welcome.buttons == [[("Bra 🙂", "mood:good")]]

    press = await client.press_button(user_id, "Bra")
    answer = await client.wait_for_callback_answer(user_id, press.callback_query_id, timeout=5)
    assert answer.text == "Sparat"
    edited = await client.wait_for(
        user_id, lambda chat: any(m.text == "Tack! (mood:good)" for m in chat), timeout=5
    )
    assert edited[1].edited and edited[1].buttons == []

    sent = await client.send_text(user_id, "hej där")
    reply = await client.wait_for_bot_message(user_id, timeout=5)
    assert reply.text == "Du skrev: hej där"
    assert reply.raw["reply_to_message"]["message_id"] == sent.message.id
