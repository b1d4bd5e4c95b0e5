"""`/pending`: mentors and coordinators answer open sign-ups with approve and decline.

Each waiting application is one message (urgent ones first, then the oldest) with its
buttons; approving asks for the group when there are several, and declining asks to
confirm. A coordinator sees every application; a mentor those in a language they write.
Every button is checked again against the stored application, so an application
answered by someone else meanwhile, or a forged button, changes nothing.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import signup as domain
from bot.domain.lifecycle import ChangedBy, Rhythm
from bot.domain.signup import Gender, Problem, SignupError
from bot.i18n import N_
from bot.messaging import Button, Keyboard
from bot.turn import Turn, turn_handler
from storage.models import Application, Mentor, Participant

from .common import stale_button
from .registry import MENTORS, Command, FlowRegistry

log = logging.getLogger(__name__)

FLOW = "pnd"
SHOWN = 10

PROBLEMS = {
    Problem.NOT_PENDING: N_("This application has been answered already."),
    Problem.NO_COHORT: N_(
        "There is no group to put them in yet. Staff can add one with: stegvis cohort add"
    ),
    Problem.NO_MENTOR_SPEAKS: N_(
        "No mentor writes {language}. The application stays in the list until one does."
    ),
    Problem.NO_ROOM: N_(
        "Every mentor who writes {language} is full. The application stays in the list: "
        "approve it again when a place frees, or ask staff to raise a mentor's limit."
    ),
}


def may_answer(mentor: Mentor, participant: Participant) -> bool:
    """A coordinator answers every application; a mentor those in a language they write."""
    return mentor.is_coordinator or participant.locale in mentor.language_list


async def refuse_non_mentor(turn: Turn) -> bool:
    if turn.mentor is not None:
        return False
    log.info(
        "update=%s user=%s mentor command refused", turn.update_id, turn.actor.telegram_user_id
    )
    await turn.reply(turn.t("This command is for mentors."))
    return True


def card(turn: Turn, application: Application, participant: Participant) -> str:
    _ = turn.t
    gender = Gender(participant.gender) if participant.gender in set(Gender) else None
    place = (
        application.area_other
        if application.area == domain.OTHER_AREA
        else domain.area_name(
            domain.load_areas(turn.deps.settings.signup_areas_file), application.area, turn.locale
        )
    )
    lines = []
    if application.urgent:
        lines.append(
            _(
                "⚠ Urgent: something they wrote may be about danger. They were given the "
                "emergency numbers."
            )
        )
    lines += [
        _("Application {id}, sent {date}").format(
            id=participant.public_id, date=turn.t.datetime(application.submitted_at)
        ),
        _("Name: {name}").format(name=participant.display_name or ""),
        _("Language: {language}").format(language=turn.t.language_name(participant.locale)),
        _("Lives in: {place}").format(place=place or "–"),
        _("Wants help with: {topics}").format(
            topics=domain.topics_text(turn.t, list(application.topics))
        ),
        _("Gender: {gender}").format(gender=_(domain.GENDER_LABELS[gender]) if gender else "–"),
    ]
    return "\n".join(lines)


def card_buttons(turn: Turn, application: Application) -> Keyboard:
    return [
        [
            Button(turn.t("Approve"), pack(FLOW, "ok", application.id)),
            Button(turn.t("Decline"), pack(FLOW, "no", application.id)),
        ]
    ]


@turn_handler
async def on_pending(turn: Turn, update: Update) -> None:
    if await refuse_non_mentor(turn):
        return
    mentor = turn.mentor
    assert mentor is not None
    found = [
        item
        for item in await domain.pending(turn.uow, limit=500)
        if may_answer(mentor, item.participant)
    ]
    if not found:
        await turn.reply(turn.t("No applications are waiting."))
        return
    await turn.reply(
        turn.t.ngettext(
            "{count} application is waiting.", "{count} applications are waiting.", len(found)
        ).format(count=len(found))
    )
    for item in found[:SHOWN]:
        await turn.reply(
            card(turn, item.application, item.participant), card_buttons(turn, item.application)
        )
    if len(found) > SHOWN:
        await turn.reply(turn.t("Answer these first; press /pending again to see the next ones."))


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    mentor = turn.mentor
    application_id = callback.int_arg(0) if callback else None
    if callback is None or mentor is None or application_id is None:
        await stale_button(turn)
        return
    application = await domain.application_by_id(turn.uow, application_id)
    participant = (
        await turn.uow.participants.get(application.participant_id) if application else None
    )
    if application is None or participant is None or not may_answer(mentor, participant):
        await stale_button(turn)
        return
    if application.decision is not None:
        turn.answer(turn.t(PROBLEMS[Problem.NOT_PENDING]), alert=True)
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        return
    if callback.is_("ok", 1):
        await approve(turn, mentor, application, participant, None)
    elif callback.is_("okc", 2) and callback.int_arg(1) is not None:
        await approve(turn, mentor, application, participant, callback.int_arg(1))
    elif callback.is_("no", 1):
        await edit_card(
            turn,
            application,
            participant,
            turn.t(
                "Decline this application? They will get a kind message with where else to turn."
            ),
            [
                [Button(turn.t("Yes, decline"), pack(FLOW, "noyes", application.id))],
                [Button(turn.t("Cancel"), pack(FLOW, "back", application.id))],
            ],
        )
    elif callback.is_("noyes", 1):
        await decline(turn, mentor, application, participant)
    elif callback.is_("back", 1):
        await edit_card(turn, application, participant, None, card_buttons(turn, application))
    else:
        await stale_button(turn)


async def edit_card(
    turn: Turn,
    application: Application,
    participant: Participant,
    question: str | None,
    buttons: Keyboard,
) -> None:
    text = card(turn, application, participant)
    if question:
        text += "\n\n" + question
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, text, buttons)
    else:
        await turn.reply(text, buttons)


async def approve(
    turn: Turn,
    mentor: Mentor,
    application: Application,
    participant: Participant,
    cohort_id: int | None,
) -> None:
    _ = turn.t
    settings = turn.deps.settings
    try:
        approved = await domain.approve(
            turn.uow,
            application.id,
            cohort_id=cohort_id,
            by=ChangedBy.mentor(mentor),
            now=turn.clock.now(),
            rhythm=Rhythm.from_settings(settings),
        )
    except SignupError as error:
        log.info(
            "update=%s application=%s approval refused: %s",
            turn.update_id,
            application.id,
            error.problem,
        )
        if error.problem is Problem.CHOOSE_COHORT:
            cohorts = await domain.cohorts(turn.uow)
            await edit_card(
                turn,
                application,
                participant,
                _("Which group?"),
                [
                    *[[Button(c.name, pack(FLOW, "okc", application.id, c.id))] for c in cohorts],
                    [Button(_("Cancel"), pack(FLOW, "back", application.id))],
                ],
            )
            return
        language = turn.t.language_name(error.locale or "")
        await turn.reply(_(PROBLEMS[error.problem]).format(language=language))
        return
    log.info(
        "update=%s participant=%s approved mentor=%s cohort=%s",
        turn.update_id,
        approved.participant.public_id,
        approved.mentor.id,
        approved.cohort.id,
    )
    if turn.callback_message_id is not None:
        await turn.edit(
            turn.callback_message_id,
            "✓ "
            + _("Approved: {id} is in {cohort}, with {mentor} as mentor.").format(
                id=participant.public_id, cohort=approved.cohort.name, mentor=approved.mentor.name
            ),
        )
    await domain.tell_approved(
        turn.notifier,
        turn.deps.translator,
        approved,
        areas=domain.load_areas(settings.signup_areas_file),
        default_locale=settings.default_locale,
    )


async def decline(
    turn: Turn, mentor: Mentor, application: Application, participant: Participant
) -> None:
    _ = turn.t
    public_id = participant.public_id
    declined = await domain.decline(
        turn.uow, application.id, by=ChangedBy.mentor(mentor), now=turn.clock.now()
    )
    log.info("update=%s participant=%s declined", turn.update_id, public_id)
    if turn.callback_message_id is not None:
        await turn.edit(
            turn.callback_message_id,
            "✗ "
            + _("Declined: {id} got a kind message with where else to turn.").format(id=public_id),
        )
    await domain.tell_declined(
        turn.notifier,
        turn.deps.translator,
        declined,
        places=domain.load_elsewhere(turn.deps.settings.signup_elsewhere_file),
    )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_commands(
        [Command("pending", N_("applications waiting for an answer"), MENTORS, order=30)]
    )
    return [
        CommandHandler("pending", on_pending),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
