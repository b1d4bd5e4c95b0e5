"""Leaving and follow-up: a mentor's `/end` and `/resume`, the participant's own "end the
contact", and the questions at 3 and 6 months after someone left for work or studies.

`/end P7K3Q work` (or `/end P7K3Q` and a reason button) asks the mentor to confirm, then
moves the participant: work or studies into follow-up (the mentor stays, check-ins
become monthly, the bot asks at 3 and 6 months), any other reason to ended. The
participant is told either way, in their language. Buttons carry ids and are checked
again: the mentor may act on this participant, and the move still makes sense.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import follow_up as questions
from bot.domain import lifecycle
from bot.domain.lifecycle import ChangedBy, LifecycleError
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard, Notifier
from bot.turn import Deps, Turn, turn_handler
from storage.models import (
    EndedReason,
    FollowUpAnswer,
    FollowUpQuestion,
    Mentor,
    OutboxKind,
    Participant,
    ParticipantStatus,
)

from .common import show_menu, stale_button
from .onboarding import start_argument
from .pending import refuse_non_mentor
from .registry import (
    MENTORS,
    PARTICIPANTS,
    Command,
    FlowRegistry,
    MenuItem,
    Role,
    in_contact,
    role_of,
)

log = logging.getLogger(__name__)

FLOW = "fu"

REASON_LABELS = {
    EndedReason.WORK: N_("Work"),
    EndedReason.STUDIES: N_("Studies"),
    EndedReason.MOVED: N_("Moved away"),
    EndedReason.OWN_WISH: N_("Their own wish"),
    EndedReason.NO_CONTACT: N_("No contact"),
    EndedReason.OTHER: N_("Other reason"),
}
# What a mentor may type after `/end P7K3Q`: the reason's own name, or a Swedish word.
REASON_WORDS = {
    **{reason.value: reason for reason in lifecycle.END_REASONS},
    "arbete": EndedReason.WORK,
    "jobb": EndedReason.WORK,
    "studier": EndedReason.STUDIES,
    "flyttat": EndedReason.MOVED,
    "egen": EndedReason.OWN_WISH,
    "ingen_kontakt": EndedReason.NO_CONTACT,
    "annat": EndedReason.OTHER,
}
CADENCE = {
    "weekly": N_("once a week"),
    "fortnightly": N_("every other week"),
    "monthly": N_("once a month"),
}


def end_contact_button(t: Translator) -> Keyboard:
    return [[Button(t("End the contact"), pack(FLOW, "quit"))]]


# A mentor ends or resumes


async def find_own(turn: Turn, mentor: Mentor, argument: str) -> Participant | None:
    public_id = argument.split()[0][:16] if argument.split() else ""
    participant = await turn.uow.participants.by_public_id(public_id) if public_id else None
    if participant is None or not lifecycle.may_act_on(mentor, participant):
        log.info("update=%s mentor=%s participant refused: not theirs", turn.update_id, mentor.id)
        await turn.reply(
            turn.t("I can't find a participant {id} among yours.").format(id=public_id or "–")
        )
        return None
    return participant


@turn_handler
async def on_end(turn: Turn, update: Update) -> None:
    if await refuse_non_mentor(turn):
        return
    mentor = turn.mentor
    assert mentor is not None
    _ = turn.t
    argument = start_argument(update.effective_message)
    if not argument:
        await turn.reply(_("Write /end and the participant's id, for example /end P7K3Q work."))
        return
    participant = await find_own(turn, mentor, argument)
    if participant is None:
        return
    if not await may_end(turn, participant):
        return
    words = argument.split()
    reason = REASON_WORDS.get(words[1].casefold()) if len(words) > 1 else None
    if reason is None:
        await turn.reply(
            _("Why does {id} leave?").format(id=participant.public_id),
            [
                [Button(_(REASON_LABELS[r]), pack(FLOW, "why", participant.id, r.value))]
                for r in lifecycle.END_REASONS
            ],
        )
        return
    await confirm_end(turn, participant, reason)


async def offer_follow_up(turn: Turn, participant: Participant) -> None:
    """A mentor recorded that someone left for work or studies (/step): offer to move
    them to follow-up, which the mentor confirms."""
    if participant.status is not ParticipantStatus.ACTIVE:
        return
    _ = turn.t
    await turn.reply(
        _("Has {id} left the project for work or for studies? Then they move to follow-up.").format(
            id=participant.public_id
        ),
        [
            [
                Button(_(REASON_LABELS[reason]), pack(FLOW, "why", participant.id, reason.value))
                for reason in (EndedReason.WORK, EndedReason.STUDIES)
            ],
            [Button(_("Not now"), pack(FLOW, "cancel"))],
        ],
    )


async def may_end(turn: Turn, participant: Participant) -> bool:
    _ = turn.t
    if participant.status is ParticipantStatus.APPLIED:
        await turn.reply(
            _("{id} is still waiting for an answer: see /pending.").format(id=participant.public_id)
        )
        return False
    if participant.status is ParticipantStatus.ENDED or participant.erased_at is not None:
        await turn.reply(
            _("The contact with {id} has ended already.").format(id=participant.public_id)
        )
        return False
    return True


def what_happens(t: Translator, participant: Participant, reason: EndedReason, cadence: str) -> str:
    if participant.status is ParticipantStatus.ACTIVE and reason in lifecycle.WORK_OR_STUDIES:
        return t(
            "{id} leaves for {reason}: they move to follow-up. You stay their mentor, the "
            "check-in comes {cadence}, and the bot asks after 3 and 6 months whether they "
            "are still working or studying."
        ).format(
            id=participant.public_id,
            reason=t(REASON_LABELS[reason]).lower(),
            cadence=t(CADENCE[cadence]),
        )
    return t(
        "The contact with {id} ends ({reason}). They get no more check-ins or reminders."
    ).format(id=participant.public_id, reason=t(REASON_LABELS[reason]).lower())


async def confirm_end(turn: Turn, participant: Participant, reason: EndedReason) -> None:
    _ = turn.t
    text = what_happens(turn.t, participant, reason, turn.deps.settings.follow_up_cadence)
    buttons = [
        [Button(_("Yes, do it"), pack(FLOW, "endok", participant.id, reason.value))],
        [Button(_("Cancel"), pack(FLOW, "cancel"))],
    ]
    if turn.callback_message_id is not None and turn.callback is not None:
        await turn.edit(turn.callback_message_id, text, buttons)
    else:
        await turn.reply(text, buttons)


async def end_by_mentor(
    turn: Turn, mentor: Mentor, participant: Participant, reason: EndedReason
) -> None:
    _ = turn.t
    try:
        event = await lifecycle.leave(
            turn.uow,
            participant,
            reason,
            by=ChangedBy.mentor(mentor),
            now=turn.clock.now(),
            rhythm=lifecycle.Rhythm.from_settings(turn.deps.settings),
        )
    except LifecycleError:
        await stale_button(turn)
        return
    log.info(
        "update=%s participant=%s %s by mentor=%s",
        turn.update_id,
        participant.public_id,
        event.to_status,
        mentor.id,
    )
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if event.to_status is ParticipantStatus.FOLLOW_UP:
        await turn.reply("✓ " + _("{id} is in follow-up now.").format(id=participant.public_id))
    else:
        await turn.reply(
            "✓ " + _("The contact with {id} has ended.").format(id=participant.public_id)
        )
    await tell_participant_of_change(turn, participant, mentor, event.to_status, reason)


async def tell_participant_of_change(
    turn: Turn,
    participant: Participant,
    mentor: Mentor,
    status: ParticipantStatus,
    reason: EndedReason,
) -> None:
    if participant.chat_id is None or participant.unreachable_at is not None:
        return
    t = turn.deps.translator(participant.locale)
    name = participant.display_name or ""
    buttons: Keyboard | None = None
    if status is ParticipantStatus.FOLLOW_UP:
        cadence = t(CADENCE[turn.deps.settings.follow_up_cadence])
        text = "\n\n".join(
            [
                (
                    t("Congratulations on your new job, {name}!")
                    if reason is EndedReason.WORK
                    else t("Congratulations on starting your studies, {name}!")
                ).format(name=name),
                t(
                    "{mentor} is still your mentor. The check-in now comes {cadence}, and "
                    "you can write here whenever you want. After 3 and 6 months, I will "
                    "ask how it is going."
                ).format(mentor=mentor.first_name, cadence=cadence),
                t("If you no longer want any contact, you can end it here."),
            ]
        )
        buttons = end_contact_button(t)
    elif status is ParticipantStatus.ACTIVE:
        text = t(
            "{mentor} has taken you back into the project. You will get the weekly "
            "check-in again. Welcome back!"
        ).format(mentor=mentor.first_name)
    else:
        text = "\n\n".join(
            [
                t(
                    "Your contact with the project has now ended. "
                    "Thank you for this time, and good luck!"
                ),
                t("You can see your data with /mydata and delete it with /delete."),
            ]
        )
    await turn.notifier.send_text(
        participant.chat_id,
        text,
        key=f"lifecycle:{turn.update_id}:{participant.id}",
        kind=OutboxKind.NOTIFICATION,
        participant_id=participant.id,
        buttons=buttons,
    )


@turn_handler
async def on_resume(turn: Turn, update: Update) -> None:
    if await refuse_non_mentor(turn):
        return
    mentor = turn.mentor
    assert mentor is not None
    _ = turn.t
    argument = start_argument(update.effective_message)
    if not argument:
        await turn.reply(_("Write /resume and the participant's id, for example /resume P7K3Q."))
        return
    participant = await find_own(turn, mentor, argument)
    if participant is None:
        return
    public_id = participant.public_id
    if participant.status is ParticipantStatus.ACTIVE:
        await turn.reply(_("{id} is in the weekly support already.").format(id=public_id))
        return
    if participant.status is ParticipantStatus.APPLIED:
        await turn.reply(
            _("{id} is still waiting for an answer: see /pending.").format(id=public_id)
        )
        return
    if participant.erased_at is not None or participant.mentor_id is None:
        # Never had a place (a no, or withdrawn), or erased their data: they sign up again.
        await turn.reply(
            _("{id} cannot be taken back here. They can sign up again with /start.").format(
                id=public_id
            )
        )
        return
    await lifecycle.resume(
        turn.uow,
        participant,
        by=ChangedBy.mentor(mentor),
        now=turn.clock.now(),
        rhythm=lifecycle.Rhythm.from_settings(turn.deps.settings),
    )
    log.info(
        "update=%s participant=%s resumed by mentor=%s",
        turn.update_id,
        participant.public_id,
        mentor.id,
    )
    await turn.reply(
        "✓ " + _("{id} is back in the weekly support.").format(id=participant.public_id)
    )
    await tell_participant_of_change(
        turn, participant, mentor, ParticipantStatus.ACTIVE, EndedReason.OTHER
    )


# The participant ends the contact


async def ask_quit(turn: Turn) -> None:
    _ = turn.t
    await turn.reply(
        "\n\n".join(
            [
                _("Do you want to end the contact with the project?"),
                _(
                    "You will get no more check-ins or reminders, and your mentor is told. "
                    "You can sign up again later."
                ),
            ]
        ),
        [
            [Button(_("Yes, end the contact"), pack(FLOW, "quityes"))],
            [Button(_("No, keep the contact"), pack(FLOW, "quitno"))],
        ],
    )


async def quit_contact(turn: Turn) -> None:
    _ = turn.t
    participant = turn.participant
    if participant is None or not lifecycle.in_caseload(participant):
        await stale_button(turn)
        return
    await lifecycle.leave(
        turn.uow,
        participant,
        EndedReason.OWN_WISH,
        by=ChangedBy.participant(),
        now=turn.clock.now(),
        rhythm=None,
    )
    log.info("update=%s participant=%s ended the contact", turn.update_id, participant.public_id)
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    await turn.reply(
        "\n\n".join(
            [
                _(
                    "Your contact with the project has now ended. "
                    "Thank you for this time, and good luck!"
                ),
                _("If you want support again, press /start."),
                _("You can see your data with /mydata and delete it with /delete."),
            ]
        )
    )
    if participant.mentor_id is not None:
        mentor = await turn.uow.mentors.get(participant.mentor_id)
        if mentor is not None and mentor.telegram_user_id is not None:
            t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
            await turn.notifier.send_text(
                mentor.telegram_user_id,
                t("{id} has ended the contact with the project themselves.").format(
                    id=participant.public_id
                ),
                key=f"quit:{turn.update_id}",
                kind=OutboxKind.NOTIFICATION,
                mentor_id=mentor.id,
            )


# The follow-up questions


def question_text(t: Translator, question: FollowUpQuestion, name: str) -> str:
    return "\n\n".join(
        [
            t.ngettext(
                "Hi {name}! It is {count} month since you left the project.",
                "Hi {name}! It is {count} months since you left the project.",
                question.months,
            ).format(name=name, count=question.months),
            t(
                "Are you still working or studying? Your answer helps the project to show "
                "what its work leads to. It is counted without your name."
            ),
        ]
    )


def question_buttons(t: Translator, question: FollowUpQuestion) -> Keyboard:
    return [
        [Button(t("Yes, I work"), pack(FLOW, "ans", question.id, FollowUpAnswer.WORK.value))],
        [Button(t("Yes, I study"), pack(FLOW, "ans", question.id, FollowUpAnswer.STUDIES.value))],
        [Button(t("No, not now"), pack(FLOW, "ans", question.id, FollowUpAnswer.NEITHER.value))],
        [Button(t("End the contact"), pack(FLOW, "quit"))],
    ]


async def ask_due_questions(deps: Deps, *, batch: int = 200, max_batches: int = 20) -> int:
    """The periodic job: ask what is due (not in quiet hours), each batch in one
    transaction with its outbox rows, so each question is asked exactly once; several
    processes share the work (rows are claimed with SKIP LOCKED on PostgreSQL)."""
    from bot.schedule import QuietHours

    asked = 0
    for _ in range(max_batches):
        now = deps.clock.now()
        if QuietHours().contains(now, deps.settings.zone):
            break
        async with deps.unit_of_work() as uow:
            found = await questions.due_questions(
                uow, now, limit=batch, skip_locked=deps.database.is_postgres
            )
            notifier = Notifier(uow, deps.clock)
            for item in found.asked:
                await queue_question(notifier, deps, item)
            await uow.commit()
        for item in found.asked:
            log.info(
                "follow-up question=%s asked participant=%s",
                item.question.id,
                item.participant.public_id,
            )
        asked += len(found.asked)
        if found.read < batch:
            break
    return asked


async def queue_question(notifier: Notifier, deps: Deps, due: questions.Due) -> None:
    participant, question = due.participant, due.question
    assert participant.chat_id is not None
    t = deps.translator(participant.locale)
    await notifier.send_text(
        participant.chat_id,
        question_text(t, question, participant.display_name or ""),
        key=f"followup:{question.id}",
        kind=OutboxKind.REMINDER,
        participant_id=participant.id,
        buttons=question_buttons(t, question),
    )


async def answer_question(turn: Turn, question_id: int | None, value: str | None) -> None:
    participant = turn.participant
    if participant is None or question_id is None or value not in set(FollowUpAnswer):
        await stale_button(turn)
        return
    answer = FollowUpAnswer(str(value))
    question = await questions.answer(turn.uow, participant, question_id, answer, turn.clock.now())
    if question is None:
        await stale_button(turn)
        return
    _ = turn.t
    log.info(
        "update=%s participant=%s follow-up question=%s answered",
        turn.update_id,
        participant.public_id,
        question.id,
    )
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if answer is FollowUpAnswer.NEITHER:
        await turn.reply(
            _(
                "Thank you for telling us. Your mentor is told and will get in touch with "
                "you. You can also write here whenever you want."
            )
        )
        await tell_mentor_neither(turn, participant, question)
    else:
        await turn.reply(_("Thank you, and good luck! You can write here whenever you want."))


async def tell_mentor_neither(
    turn: Turn, participant: Participant, question: FollowUpQuestion
) -> None:
    if participant.mentor_id is None:
        return
    mentor = await turn.uow.mentors.get(participant.mentor_id)
    if mentor is None or mentor.telegram_user_id is None:
        return
    t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
    await turn.notifier.send_text(
        mentor.telegram_user_id,
        t.ngettext(
            "{id} answered after {count} month that they no longer work or study. "
            "Please get in touch; /resume {id} takes them back into the weekly support.",
            "{id} answered after {count} months that they no longer work or study. "
            "Please get in touch; /resume {id} takes them back into the weekly support.",
            question.months,
        ).format(id=participant.public_id, count=question.months),
        key=f"followup:neither:{question.id}",
        kind=OutboxKind.NOTIFICATION,
        mentor_id=mentor.id,
    )


# Buttons


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None:
        await stale_button(turn)
        return
    if callback.is_("ans", 2):
        await answer_question(turn, callback.int_arg(0), callback.arg(1))
    elif callback.is_("quit", 0) and role_of(turn) is Role.PARTICIPANT and in_contact(turn):
        turn.answer()
        await ask_quit(turn)
    elif callback.is_("quityes", 0) and role_of(turn) is Role.PARTICIPANT:
        await quit_contact(turn)
    elif callback.is_("quitno", 0) and role_of(turn) is Role.PARTICIPANT:
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await show_menu(turn, turn.t("Good, the contact stays."))
    elif turn.mentor is not None:
        await mentor_button(turn, turn.mentor)
    else:
        log.info(
            "update=%s user=%s follow-up button refused",
            turn.update_id,
            turn.actor.telegram_user_id,
        )
        await stale_button(turn)


async def mentor_button(turn: Turn, mentor: Mentor) -> None:
    callback = turn.callback
    assert callback is not None
    if callback.is_("cancel", 0):
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await turn.reply(turn.t("Okay, nothing was changed."))
        return
    participant_id, reason_text = callback.int_arg(0), callback.arg(1)
    reason = lifecycle.reason_of(reason_text or "")
    if (
        not (callback.is_("why", 2) or callback.is_("endok", 2))
        or participant_id is None
        or reason not in lifecycle.END_REASONS
    ):
        await stale_button(turn)
        return
    assert reason is not None
    participant = await turn.uow.participants.get(participant_id)
    if participant is None or not lifecycle.may_act_on(mentor, participant):
        log.info("update=%s mentor=%s end refused: not theirs", turn.update_id, mentor.id)
        await stale_button(turn)
        return
    if not lifecycle.in_caseload(participant):
        turn.answer(
            turn.t("The contact with {id} has ended already.").format(id=participant.public_id)
        )
        return
    if callback.action == "why":
        await confirm_end(turn, participant, reason)
    else:
        await end_by_mentor(turn, mentor, participant, reason)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_menu(
        [
            MenuItem(
                N_("End the contact"),
                pack(FLOW, "quit"),
                PARTICIPANTS,
                order=85,
                visible=in_contact,
            )
        ]
    )
    registry.add_commands(
        [
            Command("end", N_("a participant leaves (work, studies, moved...)"), MENTORS, order=40),
            Command(
                "resume", N_("take a participant back into the weekly support"), MENTORS, order=41
            ),
        ]
    )
    return [
        CommandHandler("end", on_end),
        CommandHandler("resume", on_resume),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
