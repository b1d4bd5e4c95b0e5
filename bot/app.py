"""The one wiring point: every handler of the bot, in the order that decides who answers.

Within a group python-telegram-bot gives an update to the first handler that matches,
so the order below is the order of precedence. Flow modules come first, each owning its
commands and its callback prefix; the fallbacks of `common` come last.
"""

from __future__ import annotations

from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot

from bot.flows import (
    caseload,
    cases,
    checkin,
    common,
    follow_up,
    help,
    onboarding,
    pending,
    plan,
    privacy,
    reminders,
    selfrating,
    signup,
    steps,
)
from bot.flows.registry import FlowRegistry
from bot.turn import BotData, Context, Deps

# Flow modules in order of precedence; each exports build_handlers(registry).
FLOW_MODULES = (
    onboarding,  # /start and joining; must see /start before anything else does
    signup,  # open sign-up (the plain link), an applicant's status and withdrawal
    pending,  # /pending: mentors and coordinators answer applications
    checkin,  # /checkin, the check-in's buttons (ci:)
    selfrating,  # /rating, the self-rating's buttons (sr:)
    caseload,  # mentors: /caseload, /participant, /cadence (cl:)
    steps,  # mentors: /step (st:)
    plan,  # /plan: the action plan, and the check-in's question about a due step
    follow_up,  # /end, /resume, ending the contact, the 3- and 6-month questions
    cases,  # mentors' case buttons; a reply to a message about a case goes to that case
    help,  # /help topics and requests for help; its /help comes before common's
    reminders,  # /remind for mentors, the answer to a reminder, /stop
    privacy,  # /mydata and /delete
    common,  # /menu, /language, /help
)

StegvisApplication = Application[ExtBot[None], Context, dict, dict, BotData, None]  # type: ignore[type-arg]


def register_flows(registry: FlowRegistry) -> list[object]:
    """Every PTB handler in order; flows also declare their menu, commands and messages."""
    handlers: list[object] = []
    for module in FLOW_MODULES:
        handlers.extend(module.build_handlers(registry))
    handlers.extend(common.build_fallback_handlers())
    return handlers


def build_application(deps: Deps, token: str) -> StegvisApplication:
    settings = deps.settings
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .updater(None)
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        .connection_pool_size(64)
        .read_timeout(settings.telegram_read_timeout)
        .get_updates_read_timeout(settings.telegram_read_timeout)
    )
    if settings.telegram_file_url:
        builder = builder.base_file_url(settings.telegram_file_url)
    application: StegvisApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.deps = deps
    application.add_handlers(register_flows(deps.registry))  # type: ignore[arg-type]
    return application
