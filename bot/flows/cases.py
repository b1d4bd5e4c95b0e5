"""The mentor's side of a request for help: take it, answer through the bot, mark it done.

A mentor answers by replying (Telegram's reply) to the bot's notification or to any
message the bot passed on, or after pressing Reply: then their next message goes to the
case (state REPLY {"case"} in the conversation row; one message, so nothing meant for
someone else slips in later). The participant receives it from the bot as "Your mentor
<first name>", never from the mentor's own account. Participants' own replies (Telegram's
reply to a message from their mentor) go into the same case, whatever flow they are in.

Callback data carries only the case number and is never trusted: every press is checked
against who the mentor is (told about the case, the participant's mentor, a coordinator)
and against the case's status.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import pack, parse
from bot.domain import audit
from bot.domain import escalation as domain
from bot.escalation_notices import (
    CASE_FLOW,
    announce_claim,
    announce_resolved,
    relay_to_participant,
    topic,
    who,
)
from bot.i18n import N_
from bot.messaging import TELEGRAM_TEXT_LIMIT, Button, Keyboard
from bot.turn import Turn, turn_handler
from storage.escalations import Escalations
from storage.models import AuditAction, Escalation, EscalationStatus, Mentor, Participant

from .common import route_message, stale_button
from .help import CAN_PASS_ON, continue_case, incoming_of, post_of
from .registry import MENTORS, Command, FlowRegistry, Role, role_of

log = logging.getLogger(__name__)

FLOW = CASE_FLOW
REPLY = "reply"


def cases(turn: Turn) -> Escalations:
    return turn.uow.repository(Escalations)


def after_buttons(turn: Turn, case: Escalation) -> Keyboard:
    _ = turn.t
    return [
        [
            Button(_("Reply"), pack(FLOW, "reply", case.id)),
            Button(turn.t.pgettext("a request for help", "Done"), pack(FLOW, "done", case.id)),
        ]
    ]


def participant_name(participant: Participant) -> str:
    return participant.display_name or participant.public_id


async def refuse(turn: Turn, case: Escalation, decision: domain.Decision) -> None:
    """Say why the mentor cannot act; change nothing."""
    _ = turn.t
    refusal = decision.refusal
    log.info(
        "update=%s mentor=%s case=%s refused: %s",
        turn.update_id,
        turn.mentor.id if turn.mentor else None,
        case.id,
        refusal,
    )
    if refusal is domain.Refusal.TAKEN:
        text = _("{name} has already taken request #{number}.").format(
            name=decision.holder.first_name if decision.holder else "–", number=case.id
        )
    elif refusal is domain.Refusal.RESOLVED:
        text = _("Request #{number} is done already. The participant can reopen it.").format(
            number=case.id
        )
    else:
        await stale_button(turn)
        return
    if turn.callback is not None:
        turn.answer(text, alert=True)
    else:
        await turn.reply(text)


async def audited(turn: Turn, mentor: Mentor, case: Escalation, what: str) -> None:
    """A mentor changed a case through the bot: the audit trail says who, which, when."""
    await audit.record_by_mentor(
        turn.uow,
        mentor.id,
        AuditAction.CHANGE_CASE,
        turn.clock.now(),
        participant_id=case.participant_id,
        detail=f"telegram: case {case.id} {what}",
    )


async def claimed(turn: Turn, case: Escalation, participant: Participant, mentor: Mentor) -> None:
    """Tell the participant someone has their request, and the others who were told."""
    await announce_claim(post_of(turn), case, participant, mentor, key=str(turn.update_id))


async def load(turn: Turn, case_id: int | None) -> tuple[Escalation, Participant] | None:
    if case_id is None:
        return None
    case = await cases(turn).get(case_id, lock=True)
    if case is None:
        return None
    participant = await turn.uow.participants.get(case.participant_id)
    if participant is None:
        return None
    return case, participant


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    mentor = turn.mentor
    if mentor is None or callback is None:
        log.info(
            "update=%s user=%s case button from someone who is not a mentor",
            turn.update_id,
            turn.actor.telegram_user_id,
        )
        await stale_button(turn)
        return
    if callback.is_("cancel", 0):
        if turn.step is not None and turn.step[0] == FLOW:
            await turn.clear_state()
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await turn.reply(turn.t("Okay, nothing was sent."))
        return
    action = callback.action
    loaded = await load(turn, callback.int_arg(0)) if callback.is_(action, 1) else None
    if loaded is None or action not in ("claim", "reply", "done"):
        await stale_button(turn)
        return
    case, participant = loaded
    now = turn.clock.now()
    decision = await domain.take(turn.uow, case, mentor, now)
    if decision.refusal is not None:
        await refuse(turn, case, decision)
        return
    if decision.claimed_now:
        log.info("update=%s mentor=%s case=%s claimed", turn.update_id, mentor.id, case.id)
        await audited(turn, mentor, case, "claimed")
        await claimed(turn, case, participant, mentor)
    _ = turn.t
    name = participant_name(participant)
    if action == "claim":
        if decision.claimed_now:
            await turn.reply(
                _("You have taken request #{number}. {name} has been told.").format(
                    number=case.id, name=name
                ),
                after_buttons(turn, case),
            )
        else:
            turn.answer(_("Request #{number} is yours already.").format(number=case.id))
    elif action == "reply":
        await turn.set_state(FLOW, REPLY, {"case": case.id})
        await turn.reply(
            _(
                "Write your answer to {name}. It is sent by Stegvis with your first name; "
                "your own Telegram account stays hidden. Text, a photo, a voice message or "
                "a document all work."
            ).format(name=name),
            [[Button(_("Cancel"), pack(FLOW, "cancel"))]],
        )
    else:
        await resolve(turn, case, participant, mentor)


async def resolve(turn: Turn, case: Escalation, participant: Participant, mentor: Mentor) -> None:
    _ = turn.t
    now = turn.clock.now()
    domain.resolve(turn.uow, case, mentor, now)
    if turn.step is not None and turn.step[0] == FLOW:
        await turn.clear_state()
    log.info("update=%s mentor=%s case=%s resolved", turn.update_id, mentor.id, case.id)
    await audited(turn, mentor, case, "resolved")
    await announce_resolved(post_of(turn), case, participant, mentor, key=str(turn.update_id))
    await turn.reply(
        _("Request #{number} is done. {name} can reopen it within a week.").format(
            number=case.id, name=participant_name(participant)
        )
    )


async def answer(turn: Turn, case: Escalation, participant: Participant, message: Message) -> None:
    """The mentor's message, stored and sent on to the participant from the bot."""
    _ = turn.t
    mentor = turn.mentor
    assert mentor is not None
    incoming = incoming_of(message)
    if incoming is None:
        await turn.reply(_(CAN_PASS_ON))
        return
    now = turn.clock.now()
    decision = await domain.take(turn.uow, case, mentor, now)
    if decision.refusal is not None:
        await refuse(turn, case, decision)
        return
    if participant.erased_at is not None or participant.chat_id is None:
        await turn.reply(_("This participant has left Stegvis; nothing was sent."))
        return
    if decision.claimed_now:
        await claimed(turn, case, participant, mentor)
    stored = await domain.mentor_message(turn.uow, case, mentor, incoming, now)
    await relay_to_participant(post_of(turn), case, participant, mentor, stored)
    log.info("update=%s mentor=%s case=%s answered", turn.update_id, mentor.id, case.id)
    await audited(turn, mentor, case, "answered")
    await turn.reply(
        _("Sent to {name}.").format(name=participant_name(participant)),
        after_buttons(turn, case),
    )


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    """The mentor pressed Reply: this message is the answer."""
    data = turn.conversation.data if turn.conversation else {}
    await turn.clear_state()
    case_id = data.get("case")
    loaded = await load(turn, case_id if isinstance(case_id, int) else None)
    if turn.mentor is None or loaded is None:
        await route_message(turn, message)
        return
    await answer(turn, *loaded, message)


async def on_mentor_message(turn: Turn, message: Message) -> None:
    """A mentor writes outside any flow: a reply to a case's message is an answer."""
    found = await case_replied_to(turn, message)
    if found is not None:
        await answer(turn, *found, message)
        return
    await turn.reply(
        turn.t(
            "To answer a participant, reply to the message about their request "
            "(swipe it to the left), or press Reply on it."
        )
    )


async def case_replied_to(turn: Turn, message: Message) -> tuple[Escalation, Participant] | None:
    target = message.reply_to_message
    if target is None:
        return None
    case = await cases(turn).by_sent_message(turn.actor.chat_id, target.message_id)
    if case is not None:
        return await load(turn, case.id)
    # The message may be so new that its Telegram id is not stored yet: its own buttons
    # (which Telegram, not the sender, puts in reply_to_message) name the case.
    markup = target.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = parse(button.callback_data if isinstance(button.callback_data, str) else None)
            case_id = data.int_arg(len(data.args) - 1) if data and data.flow == FLOW else None
            if case_id is not None:
                return await load(turn, case_id)
    return None


@turn_handler
async def on_reply(turn: Turn, update: Update) -> None:
    """A Telegram reply to one of the bot's messages about a case goes to that case, even
    from inside another flow; anything else is routed as usual."""
    message = update.effective_message
    if message is None:
        return
    too_long = message.text is not None and len(message.text) > TELEGRAM_TEXT_LIMIT
    found = None if too_long else await case_replied_to(turn, message)
    if found is not None:
        case, participant = found
        if turn.mentor is not None:
            await answer(turn, case, participant, message)
            return
        if (
            turn.participant is not None
            and role_of(turn) is Role.PARTICIPANT
            and turn.participant.id == participant.id
            and case.status in (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
            and (case.shared_at is not None or case.first_response_at is not None)
        ):
            incoming = incoming_of(message)
            if incoming is not None:
                await continue_case(turn, participant, case, incoming)
                return
    await route_message(turn, message)


CASELIST_LIMIT = 10


@turn_handler
async def on_cases(turn: Turn, update: Update) -> None:
    """/cases: the requests for help a mentor has or may take, urgent first."""
    _ = turn.t
    mentor = turn.mentor
    if mentor is None:
        log.info(
            "update=%s user=%s /cases from a non-mentor",
            turn.update_id,
            turn.actor.telegram_user_id,
        )
        await turn.reply(_("This command is for mentors."))
        return
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for case in await cases(turn).active():
        if len(lines) >= CASELIST_LIMIT:
            break
        mine = case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id == mentor.id
        waiting = case.status is EscalationStatus.OPEN and (
            case.shared_at is not None or case.urgent
        )
        if not (mine or waiting) or not await domain.may_see(turn.uow, case, mentor):
            continue
        participant = await turn.uow.participants.get(case.participant_id)
        if participant is None:
            continue
        state = _("yours") if mine else _("nobody has taken it")
        lines.append(
            "{urgent}#{number} {topic} · {participant} · {state}".format(
                urgent="🔴 " if case.urgent else "",
                number=case.id,
                topic=topic(turn.t, case.category),
                participant=who(participant),
                state=state,
            )
        )
        if mine:
            buttons.append(
                [
                    Button(
                        _("Reply #{number}").format(number=case.id), pack(FLOW, "reply", case.id)
                    ),
                    Button(_("Done #{number}").format(number=case.id), pack(FLOW, "done", case.id)),
                ]
            )
        else:
            buttons.append(
                [Button(_("Take #{number}").format(number=case.id), pack(FLOW, "claim", case.id))]
            )
    if not lines:
        await turn.reply(_("No open requests for help right now."))
        return
    await turn.reply("\n".join([_("Requests for help:"), *lines]), buttons)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_commands([Command("cases", N_("requests for help"), MENTORS, order=20)])
    return [
        CommandHandler("cases", on_cases),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
        MessageHandler(
            filters.REPLY & ~filters.COMMAND & ~filters.UpdateType.EDITED_MESSAGE, on_reply
        ),
    ]
