"""The bare python-telegram-bot bot that `bench/updates.py` compares Stegvis with.

    python -m bench._echo BOT_API_URL TOKEN

It polls like Stegvis does and serves updates as concurrently (32 at once, a pool of 64
connections), but keeps nothing: a button press is answered (answerCallbackQuery) and
gets a new message with one button; a text is echoed, with that button. Stopped by
SIGTERM or SIGINT.
"""

from __future__ import annotations

import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

CONCURRENCY = 32
POOL = 64


async def on_press(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    count = int((query.data or "echo:0").split(":")[1]) + 1
    await query.message.get_bot().send_message(
        query.message.chat.id,
        f"Pressed {count} times",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Again", callback_data=f"echo:{count}")]]
        ),
    )


async def on_text(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        message.text or "",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Again", callback_data="echo:0")]]
        ),
    )


def main(argv: list[str]) -> None:
    base_url, token = argv
    application = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(CONCURRENCY)
        .connection_pool_size(POOL)
        .build()
    )
    application.add_handler(CallbackQueryHandler(on_press))
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    application.run_polling(allowed_updates=Update.ALL_TYPES, timeout=30)


if __name__ == "__main__":
    main(sys.argv[1:])
