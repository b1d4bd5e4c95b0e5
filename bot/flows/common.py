"""What works everywhere: /menu, /language, and a kind answer to anything unexpected.

The fallback handlers here are registered last (see `app.py`): an unknown command, a
button nobody owns, a sticker where text was expected, a message longer than Telegram
allows. Each gets a short translated answer; none of them changes stored state.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import pack
from bot.config import SUPPORTED_LOCALES
from bot.i18n import LANGUAGE_NAMES, N_
from bot.messaging import TELEGRAM_TEXT_LIMIT, Button, Keyboard
from bot.turn import Turn, turn_handler

from .registry import EVERYONE, Command, FlowRegistry, MenuItem, Role, role_of

log = logging.getLogger(__name__)

FLOW = "lang"


def language_buttons(flow: str, action: str) -> Keyboard:
    """One button per language, each named in itself."""
    return [[Button(LANGUAGE_NAMES[code], pack(flow, action, code)) for code in SUPPORTED_LOCALES]]


async def show_menu(turn: Turn, intro: str | None = None) -> None:
    _ = turn.t
    role = role_of(turn)
    items = turn.deps.registry.menu_for(role, turn)
    if role is Role.VISITOR:
        if items:  # open sign-up: a button to ask for a mentor
            await turn.reply(
                intro
                or _(
                    "Stegvis is for participants of a project. To join, open the invitation "
                    "link you got from your project, or sign up here."
                ),
                [[Button(_(item.label), item.data)] for item in items],
            )
            return
        await turn.reply(
            intro
            or _(
                "Stegvis is for participants of a project. To join, open the invitation "
                "link you got from your project, or scan its QR code."
            )
        )
        return
    buttons = [[Button(_(item.label), item.data)] for item in items]
    await turn.reply(intro or _("What would you like to do?"), buttons)


@turn_handler
async def on_menu(turn: Turn, update: Update) -> None:
    await show_menu(turn)


@turn_handler
async def on_language(turn: Turn, update: Update) -> None:
    await turn.reply(turn.t("Which language should I use?"), language_buttons(FLOW, "set"))


@turn_handler
async def on_language_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None:
        return
    if callback.is_("open", 0):
        await turn.reply(turn.t("Which language should I use?"), language_buttons(FLOW, "set"))
        return
    code = callback.arg(0)
    if not callback.is_("set", 1) or code not in SUPPORTED_LOCALES:
        await stale_button(turn)
        return
    if turn.participant is not None:
        turn.participant.locale = code
    elif turn.mentor is not None:
        turn.mentor.locale = code
    elif turn.conversation is not None:
        turn.conversation.locale = code
    turn.set_locale(code)
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, "✓ " + LANGUAGE_NAMES[code])
    await turn.reply(turn.t("Okay, I will write in English from now on."))


@turn_handler
async def on_help(turn: Turn, update: Update) -> None:
    await how_it_works(turn)


async def how_it_works(turn: Turn) -> None:
    """What /help shows anyone who is not a participant (the help flow offers topics)."""
    _ = turn.t
    role = role_of(turn)
    lines = [_("Stegvis keeps you in touch with your mentor between meetings.")]
    for command in turn.deps.registry.commands_for(role):
        lines.append(f"/{command.name} – {_(command.description)}")
    lines.append("")
    lines.append(_("If you are in danger right now, call 112."))
    await turn.reply("\n".join(lines))


async def stale_button(turn: Turn) -> None:
    """A button from an old message, or data nobody sent: say so, change nothing."""
    log.info(
        "update=%s user=%s stale or forged button", turn.update_id, turn.actor.telegram_user_id
    )
    turn.answer(turn.t("This button no longer works."), alert=False)


@turn_handler
async def on_unknown_button(turn: Turn, update: Update) -> None:
    await stale_button(turn)


@turn_handler
async def on_unknown_command(turn: Turn, update: Update) -> None:
    log.info("update=%s user=%s unknown command", turn.update_id, turn.actor.telegram_user_id)
    await turn.reply(turn.t("I don't know that command. Press /menu to see what you can do."))


@turn_handler
async def on_message(turn: Turn, update: Update) -> None:
    """Route text and media to the flow that owns the current step, else to the fallback."""
    message = update.effective_message
    if message is None:
        return
    await route_message(turn, message)


async def route_message(turn: Turn, message: Message) -> None:
    """The routing of `on_message`, for handlers that look at a message first (a reply to
    a request for help) and hand on what is not theirs."""
    if message.text is not None and len(message.text) > TELEGRAM_TEXT_LIMIT:
        log.info("update=%s user=%s text too long", turn.update_id, turn.actor.telegram_user_id)
        await turn.reply(
            turn.t("That message is too long for me. Please send it in shorter parts.")
        )
        return
    registry = turn.deps.registry
    if turn.conversation is not None:
        handler = registry.on_message.get(turn.conversation.flow)
        if handler is not None:
            await handler(turn, message)
            return
    if registry.fallback is not None:
        await registry.fallback(turn, message)
        return
    await default_fallback(turn, message.text is not None)


async def default_fallback(turn: Turn, is_text: bool) -> None:
    if role_of(turn) is Role.VISITOR:
        await show_menu(turn)
        return
    if is_text:
        await turn.reply(turn.t("I did not understand that. Press /menu to see what you can do."))
    else:
        await turn.reply(
            turn.t("I can only read text and buttons here. Press /menu to see what you can do.")
        )


@turn_handler
async def on_edited_message(turn: Turn, update: Update) -> None:
    """Edits are not new answers; say so rather than silently ignore the change."""
    await turn.reply(
        turn.t("I only see new messages, not changes. Please send it again as a new message.")
    )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_menu(
        [
            MenuItem(N_("Change language"), pack(FLOW, "open"), EVERYONE, order=90),
        ]
    )
    registry.add_commands(
        [
            Command("menu", N_("what you can do"), EVERYONE, order=1),
            Command("language", N_("change language"), EVERYONE, order=80),
            Command("help", N_("ask for help"), EVERYONE, order=90),
        ]
    )
    return [
        CommandHandler("menu", on_menu),
        CommandHandler("language", on_language),
        CommandHandler("help", on_help),
        CallbackQueryHandler(on_language_button, pattern=r"^lang:"),
    ]


def build_fallback_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Registered after every flow: what nobody else handled."""
    return [
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited_message),
        MessageHandler(filters.COMMAND, on_unknown_command),
        MessageHandler(filters.ALL, on_message),
        CallbackQueryHandler(on_unknown_button),
    ]
