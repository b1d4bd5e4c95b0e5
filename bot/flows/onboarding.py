"""Joining: /start CODE -> language -> privacy notice -> agree (or decline) -> welcome.

States (conversation.flow == FLOW):
    LANGUAGE  the invite was valid; the language picker is shown
    CONSENT   a language was chosen; the privacy notice is shown
Nothing about the person is stored before they agree, except the conversation row that
lets a restart resume where they were (their Telegram id, the invite code, the language).
Declining deletes that row and keeps only the fact of the refusal.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.config import SUPPORTED_LOCALES
from bot.domain import onboarding as domain
from bot.i18n import LANGUAGE_NAMES, N_, in_every_language
from bot.messaging import Button, Keyboard
from bot.turn import Turn, turn_handler
from storage.models import InviteKind, OutboxKind, ParticipantStatus

from .common import language_buttons, show_menu, stale_button
from .registry import FlowRegistry

log = logging.getLogger(__name__)

FLOW = "onb"
LANGUAGE = "language"
CONSENT = "consent"

LANGUAGE_PROMPT = N_("Welcome to Stegvis! Please choose your language.")


def start_argument(message: Message | None) -> str:
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def consent_buttons(turn: Turn, flow: str = FLOW) -> Keyboard:
    _ = turn.t
    return [
        [Button(_("Yes, I agree"), pack(flow, "consent", "yes"))],
        [Button(_("No, thank you"), pack(flow, "consent", "no"))],
        [Button(_("Tell me more"), pack(flow, "consent", "more"))],
    ]


def privacy_notice(turn: Turn) -> str:
    _ = turn.t
    months = turn.deps.settings.retention_months
    return "\n\n".join(
        [
            _("How we handle your data"),
            _(
                "Stegvis saves your answers so that your mentor can support you "
                "between meetings. Only your mentor and the project staff can read them. "
                "What you write yourself is stored encrypted."
            ),
            _(
                "If you write about violence, or about hurting yourself, your mentor is "
                "told at once."
            ),
            turn.t.ngettext(
                "We delete your data {count} month after you leave the project.",
                "We delete your data {count} months after you leave the project.",
                months,
            ).format(count=months),
            _("You can see your data with /mydata and delete it with /delete at any time."),
            _("Do you agree?"),
        ]
    )


def privacy_details(turn: Turn) -> str:
    _ = turn.t
    return "\n\n".join(
        [
            _(
                "What we save: the name you use in Telegram, your language, your answers "
                "to check-ins and self-ratings, the steps you take, and the messages you "
                "send to your mentor."
            ),
            _(
                "Why: so that your mentor can follow how you are doing and help you, and "
                "so that the project can report, without names, how many people it helped."
            ),
            _(
                "Who can read it: your mentor, and the staff of the project when they need "
                "to. Every time someone opens your data, it is written down."
            ),
            _(
                "Saying no is fine. It does not change the help you get from your mentor "
                "at meetings."
            ),
        ]
    )


async def ask_language(turn: Turn, flow: str = FLOW) -> None:
    await turn.reply(
        in_every_language(LANGUAGE_PROMPT, turn.deps.settings.timezone),
        language_buttons(flow, "lang"),
    )


async def ask_consent(turn: Turn) -> None:
    await turn.reply(privacy_notice(turn), consent_buttons(turn))


INVITE_PROBLEMS = {
    domain.InviteProblem.UNKNOWN: N_(
        "I can't find this invitation. Check the link, or ask your mentor for a new one."
    ),
    domain.InviteProblem.USED: N_(
        "This invitation has already been used. Ask your mentor for a new one."
    ),
    domain.InviteProblem.EXPIRED: N_(
        "This invitation is no longer valid. Ask your mentor for a new one."
    ),
}


@turn_handler
async def on_start(turn: Turn, update: Update) -> None:
    _ = turn.t
    code = start_argument(update.effective_message)
    now = turn.clock.now()
    if turn.mentor is not None:
        if code:
            await turn.reply(_("You are registered as a mentor already."))
        await show_menu(turn)
        return
    participant = turn.participant
    if participant is not None and participant.erased_at is None:
        if participant.status in (ParticipantStatus.APPLIED, ParticipantStatus.ENDED):
            from bot.flows import signup  # an applicant, or someone who left: sign-up knows

            await signup.returning(turn)
            return
        if participant.unreachable_at is not None or participant.reminders_paused_at is not None:
            resumed = participant.reminders_paused_at is not None
            participant.unreachable_at = None
            participant.reminders_paused_at = None
            if resumed:
                await turn.reply(_("Reminders are on again. Send /stop to pause them."))
        if code and (participant.invite_id is None or not await _same_invite(turn, code)):
            await turn.reply(
                _("You are already part of the project, so you don't need a new invitation.")
            )
        await show_menu(turn, _("Welcome back! What would you like to do?"))
        return
    if not code:
        from bot.flows import signup  # the plain link: open sign-up (where the project has it)

        await signup.start(turn)
        return
    check = await domain.check_invite(turn.uow, code, now)
    if check.problem is not None or check.invite is None:
        problem = check.problem or domain.InviteProblem.UNKNOWN
        log.info("update=%s invite refused: %s", turn.update_id, problem)
        await turn.reply(_(INVITE_PROBLEMS[problem]))
        return
    invite = check.invite
    if invite.kind is InviteKind.MENTOR:
        mentor = await domain.join_as_mentor(
            turn.uow, invite=invite, telegram_user_id=turn.actor.telegram_user_id, now=now
        )
        if mentor is None:
            await turn.reply(_(INVITE_PROBLEMS[domain.InviteProblem.UNKNOWN]))
            return
        turn.mentor = mentor
        if mentor.locale:
            turn.set_locale(mentor.locale)
        await turn.clear_state()
        await turn.reply(
            turn.t(
                "Welcome, {name}! You are now a mentor in Stegvis. Requests for help and "
                "news about your participants will come here."
            ).format(name=mentor.first_name)
        )
        await show_menu(turn)
        return
    await turn.set_state(FLOW, LANGUAGE, {"invite": invite.code})
    await ask_language(turn)


async def _same_invite(turn: Turn, code: str) -> bool:
    invite = await turn.uow.invites.by_code(domain.normalize_code(code))
    return (
        invite is not None
        and turn.participant is not None
        and invite.id == turn.participant.invite_id
    )


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    step = turn.step
    if callback is None or step is None or step[0] != FLOW:
        if turn.participant is not None:
            turn.answer()
            return
        await stale_button(turn)
        return
    if callback.is_("lang", 1) and callback.arg(0) in SUPPORTED_LOCALES:
        await choose_language(turn, str(callback.arg(0)))
    elif callback.is_("consent", 1) and step[1] == CONSENT:
        answer = callback.arg(0)
        if answer == "yes":
            await agree(turn)
        elif answer == "no":
            await decline(turn)
        elif answer == "more":
            await turn.reply(privacy_details(turn), consent_buttons(turn))
        else:
            await stale_button(turn)
    else:
        await stale_button(turn)


async def choose_language(turn: Turn, locale: str) -> None:
    data = dict(turn.conversation.data) if turn.conversation else {}
    await turn.set_state(FLOW, CONSENT, data, locale=locale)
    turn.set_locale(locale)
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, "✓ " + LANGUAGE_NAMES[locale])
    await ask_consent(turn)


async def agree(turn: Turn) -> None:
    _ = turn.t
    now = turn.clock.now()
    code = str(turn.conversation.data.get("invite", "")) if turn.conversation else ""
    check = await domain.check_invite(turn.uow, code, now)
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if check.invite is None or check.problem is not None:
        await turn.clear_state()
        await turn.reply(_(INVITE_PROBLEMS[check.problem or domain.InviteProblem.UNKNOWN]))
        return
    joined = await domain.join_as_participant(
        turn.uow,
        invite=check.invite,
        telegram_user_id=turn.actor.telegram_user_id,
        chat_id=turn.actor.chat_id,
        first_name=turn.actor.first_name,
        locale=turn.locale,
        now=now,
        randomness=turn.deps.randomness,
    )
    turn.participant = joined.participant
    await turn.clear_state()
    log.info(
        "update=%s participant=%s joined cohort=%s",
        turn.update_id,
        joined.participant.public_id,
        joined.participant.cohort_id,
    )
    name = turn.actor.first_name
    if joined.mentor is not None:
        welcome = _(
            "Welcome, {name}! Your mentor is {mentor}. You can write to {mentor} here, "
            "and you will get a short check-in every week."
        ).format(name=name, mentor=joined.mentor.first_name)
    else:
        welcome = _(
            "Welcome, {name}! You will get a mentor soon. Until then, you can use the menu."
        ).format(name=name)
    await show_menu(turn, welcome)
    await notify_mentor_of_join(turn, joined)


async def notify_mentor_of_join(turn: Turn, joined: domain.Joined) -> None:
    mentor = joined.mentor
    if mentor is None or mentor.telegram_user_id is None:
        return
    t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
    text = t("New participant {id} ({name}) has joined {cohort}. Language: {language}.").format(
        id=joined.participant.public_id,
        name=turn.actor.first_name,
        cohort=joined.cohort.name if joined.cohort else "–",
        language=LANGUAGE_NAMES.get(joined.participant.locale, joined.participant.locale),
    )
    await turn.notifier.send_text(
        mentor.telegram_user_id,
        text,
        key=f"joined:{joined.participant.id}",
        kind=OutboxKind.NOTIFICATION,
        mentor_id=mentor.id,
    )


async def decline(turn: Turn) -> None:
    now = turn.clock.now()
    code = str(turn.conversation.data.get("invite", "")) if turn.conversation else ""
    invite = await turn.uow.invites.by_code(code) if code else None
    await domain.record_refusal(turn.uow, invite=invite, locale=turn.locale, now=now)
    await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    await turn.reply(
        turn.t(
            "That is fine. We have not saved anything about you. If you change your mind, "
            "open the invitation link again."
        )
    )


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    """Text, stickers or photos while a button is expected: ask again, change nothing."""
    await turn.reply(turn.t("Please choose one of the buttons."))
    step = turn.step
    if step == (FLOW, LANGUAGE):
        await ask_language(turn)
    else:
        await ask_consent(turn)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    return [
        CommandHandler("start", on_start),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
