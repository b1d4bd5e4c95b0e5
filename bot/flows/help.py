"""Asking for help: topics, own words, what will be shared, and safety at once when urgent.

    /help, the menu, "I want help" from another flow -> the topics (buttons)
    a topic                        -> DESCRIBE: "write in your own words" (violence: safety first)
    what they write (or free text) -> triage -> CONFIRM: what the mentor will see; send?
    urgent (danger, self-harm)     -> the safety message at once, the mentor paged at once,
                                      then CONFIRM: may the mentor read the message too?
    an ongoing case                -> what they write goes to the mentor who has it

States (conversation.flow == FLOW): DESCRIBE {"topic"}, CONFIRM {"case"}. The words
themselves are never in the conversation row: they are sealed in the case's messages.
A participant who writes faster than anyone can follow gets one kind answer per minute;
everything is stored and passed on in one go.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import escalation as domain
from bot.escalation_notices import (
    HELP_FLOW,
    MEDIA_NAMES,
    NEUTRAL_LINE,
    TOPIC_LABELS,
    Post,
    relay_to_mentors,
    tell_mentor,
    tell_mentors,
    topic,
    with_neutral_line,
)
from bot.i18n import N_
from bot.messaging import Button, Keyboard
from bot.support_lines import support_lines
from bot.triage import triage
from bot.turn import Turn, turn_handler
from storage.escalations import Escalations
from storage.models import (
    Audience,
    Escalation,
    EscalationCategory,
    EscalationSource,
    EscalationStatus,
    EventKind,
    Mentor,
    MessageKind,
    OutboxKind,
    Participant,
    Sender,
)

from .common import how_it_works, show_menu, stale_button
from .registry import PARTICIPANTS, FlowRegistry, MenuItem, Role, role_of

log = logging.getLogger(__name__)

FLOW = HELP_FLOW
DESCRIBE = "describe"
CONFIRM = "confirm"

TOPICS = (
    EscalationCategory.HOUSING,
    EscalationCategory.DEBT,
    EscalationCategory.VIOLENCE,
    EscalationCategory.HEALTH,
    EscalationCategory.OTHER,
)
# Resolved requests older than this are left alone by "hide" (Telegram lets a bot delete
# messages for 48 hours only; what is older stays in the chat).
HIDE_WINDOW = domain.REOPEN_WINDOW
CAN_PASS_ON = N_("I can pass on text, photos, voice messages and documents.")


def post_of(turn: Turn) -> Post:
    settings = turn.deps.settings
    return Post(
        turn.uow, turn.notifier, turn.deps.translator, settings.default_locale, settings.zone
    )


def cases(turn: Turn) -> Escalations:
    return turn.uow.repository(Escalations)


def topic_buttons(turn: Turn, action: str, *args: int) -> Keyboard:
    return [
        [Button(turn.t(TOPIC_LABELS[category]), pack(FLOW, action, *args, category.value))]
        for category in TOPICS
    ]


async def offer_topics(turn: Turn) -> None:
    """The help topics; also what "I want help" in another flow leads to."""
    _ = turn.t
    if turn.participant is None or role_of(turn) is not Role.PARTICIPANT:
        await how_it_works(turn)
        return
    await turn.reply(
        "\n\n".join(
            [
                _("What do you need help with? Choose a topic, then write in your own words."),
                _("If you are in danger right now, call 112."),
                _("Press /menu to see everything Stegvis can do."),
            ]
        ),
        topic_buttons(turn, "topic"),
    )


@turn_handler
async def on_help(turn: Turn, update: Update) -> None:
    await offer_topics(turn)


async def reply_linked(
    turn: Turn, case: Escalation, text: str, buttons: Keyboard | None = None
) -> None:
    """A reply about a case, linked to it so "hide" can delete it later."""
    before = len(turn.claimed_reply_ids)
    await turn.reply(text, buttons)
    for outbox_id in turn.claimed_reply_ids[before:]:
        cases(turn).link(case, outbox_id, Audience.PARTICIPANT)


def hide_button(turn: Turn) -> Keyboard:
    return [[Button(turn.t("Delete these messages from this chat"), pack(FLOW, "hide"))]]


def safety_text(turn: Turn, category: EscalationCategory, urgent: bool) -> str:
    """Where to turn now, in the participant's language, from the editable data file."""
    lines = support_lines().texts(category.value, urgent, turn.locale)
    return "\n".join(lines)


def mentor_name(turn: Turn, mentor_first_name: str | None) -> str:
    """The mentor's first name, or words that fit the same place in every sentence."""
    return mentor_first_name or turn.t("a mentor")


def told_name(turn: Turn, mentors: list[Mentor]) -> str:
    """One mentor by name; several (a wider circle) as "a mentor"."""
    return mentors[0].first_name if len(mentors) == 1 else turn.t("a mentor")


def sentence(text: str) -> str:
    """A sentence that starts with a name slot starts with a capital letter."""
    return text[:1].upper() + text[1:]


async def own_mentor_first_name(turn: Turn, participant: Participant) -> str | None:
    mentor = await turn.uow.mentors.get(participant.mentor_id) if participant.mentor_id else None
    return mentor.first_name if mentor is not None else None


# Topics


async def choose_topic(turn: Turn, category: EscalationCategory) -> None:
    _ = turn.t
    if turn.callback_message_id is not None:
        if category is EscalationCategory.VIOLENCE:
            await turn.remove_buttons(turn.callback_message_id)
        else:
            await turn.edit(turn.callback_message_id, "✓ " + topic(turn.t, category))
    await turn.set_state(FLOW, DESCRIBE, {"topic": category.value})
    prompt = _(
        "Write in your own words what it is about. You can also send a voice message, "
        "a photo or a document. Nothing is sent before you say yes."
    )
    if category is EscalationCategory.VIOLENCE:
        prompt = "\n\n".join([safety_text(turn, category, urgent=False), prompt])
        await turn.reply(
            f"{turn.t(NEUTRAL_LINE)}\n\n{prompt}",
            [*hide_button(turn), [Button(_("Cancel"), pack(FLOW, "cancel"))]],
        )
        return
    await turn.reply(prompt, [[Button(_("Cancel"), pack(FLOW, "cancel"))]])


# Messages


def incoming_of(message: Message) -> domain.Incoming | None:
    """Text or a file Telegram keeps; None for what cannot be passed on (stickers...)."""
    if message.text is not None:
        return domain.Incoming(
            MessageKind.TEXT, text=message.text, telegram_message_id=message.message_id
        )
    caption = message.caption
    file_id: str | None = None
    file_name: str | None = None
    kind: MessageKind | None = None
    if message.photo:
        kind, file_id = MessageKind.PHOTO, message.photo[-1].file_id
    elif message.voice is not None:
        kind, file_id = MessageKind.VOICE, message.voice.file_id
    elif message.document is not None:
        kind, file_id = MessageKind.DOCUMENT, message.document.file_id
        file_name = message.document.file_name
    elif message.audio is not None:
        kind, file_id = MessageKind.AUDIO, message.audio.file_id
    elif message.video is not None:
        kind, file_id = MessageKind.VIDEO, message.video.file_id
    if kind is None:
        return None
    return domain.Incoming(
        kind,
        text=caption,
        file_id=file_id,
        file_name=file_name,
        telegram_message_id=message.message_id,
    )


async def on_free_message(turn: Turn, message: Message) -> None:
    """Text or media outside any flow: a mentor's answer, a participant's request (or more
    of an ongoing one), or a visitor who may be in danger."""
    if turn.mentor is not None:
        from .cases import on_mentor_message

        await on_mentor_message(turn, message)
        return
    participant = turn.participant
    if participant is None or role_of(turn) is not Role.PARTICIPANT:
        await visitor_message(turn, message)
        return
    incoming = incoming_of(message)
    if incoming is None:
        await turn.reply(turn.t(CAN_PASS_ON))
        return
    case = await domain.active_case(turn.uow, participant)
    if case is not None:
        await continue_case(turn, participant, case, incoming)
        return
    await new_request(turn, participant, incoming, None, EscalationSource.TEXT)


async def visitor_message(turn: Turn, message: Message) -> None:
    """Someone not (or no longer) in a project: nothing is stored, but danger is answered."""
    if message.text:
        result = triage(message.text)
        if result.urgent:
            category = domain.category_of(result.category.value)
            log.info("update=%s visitor urgent text, safety lines shown", turn.update_id)
            await turn.reply(
                f"{turn.t(NEUTRAL_LINE)}\n\n{safety_text(turn, category, urgent=True)}"
            )
    await show_menu(turn)


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    participant = turn.participant
    step = turn.step
    if participant is None or step is None or role_of(turn) is not Role.PARTICIPANT:
        await turn.clear_state()
        await show_menu(turn)
        return
    incoming = incoming_of(message)
    if incoming is None:
        await turn.reply(turn.t(CAN_PASS_ON))
        return
    data = turn.conversation.data if turn.conversation else {}
    if step[1] == DESCRIBE:
        chosen = domain.category_of(str(data.get("topic", "")))
        await new_request(turn, participant, incoming, chosen, EscalationSource.TOPIC)
        return
    case = await draft_of(turn, participant, data.get("case"))
    if case is None:
        # The draft was deleted (it was left unanswered for a day): start afresh.
        await turn.clear_state()
        await on_free_message(turn, message)
        return
    await add_to_draft(turn, participant, case, incoming)


async def draft_of(turn: Turn, participant: Participant, case_id: object) -> Escalation | None:
    """The case the participant is deciding about, if it is still theirs to decide."""
    if not isinstance(case_id, int):
        return None
    case = await cases(turn).get(case_id, lock=True)
    if case is None or case.participant_id != participant.id or case.shared_at is not None:
        return None
    if case.status not in (EscalationStatus.DRAFT, EscalationStatus.OPEN):
        return None
    return case


async def new_request(
    turn: Turn,
    participant: Participant,
    incoming: domain.Incoming,
    chosen: EscalationCategory | None,
    source: EscalationSource,
) -> None:
    now = turn.clock.now()
    result = triage(incoming.text) if incoming.text else None
    urgent = bool(result and result.urgent)
    triaged = domain.category_of(result.category.value) if result else EscalationCategory.OTHER
    category = triaged if urgent or chosen is None else chosen
    case = await domain.open_case(
        turn.uow,
        participant=participant,
        category=category,
        urgent=urgent,
        terms=result.terms if result else (),
        source=source,
        now=now,
    )
    await domain.add_participant_message(turn.uow, case, incoming, now)
    log.info(
        "update=%s participant=%s case=%s opened category=%s urgent=%s",
        turn.update_id,
        participant.public_id,
        case.id,
        case.category,
        case.urgent,
    )
    await turn.set_state(FLOW, CONFIRM, {"case": case.id})
    if urgent:
        await urgent_response(turn, participant, case)
    await ask_to_share(turn, participant, case)


async def urgent_response(turn: Turn, participant: Participant, case: Escalation) -> None:
    """Safety lines at once, and the mentor paged at once with topic and terms only."""
    _ = turn.t
    now = turn.clock.now()
    settings = turn.deps.settings
    paging = await domain.route(turn.uow, case, participant, now, settings.zone)
    await tell_mentors(post_of(turn), case, participant, paging, now)
    if paging.anyone:
        told = sentence(
            _("{name} has been told and will contact you as soon as possible.").format(
                name=told_name(turn, paging.new)
            )
        )
    else:
        told = _("Nobody in the project can be reached right now. Please use the numbers above.")
    text = "\n\n".join(
        [
            safety_text(turn, case.category, urgent=True),
            told,
            _("You can delete these messages from this chat with the button below."),
        ]
    )
    await reply_linked(turn, case, with_neutral_line(turn.t, case, text), hide_button(turn))


def shown_messages(turn: Turn, texts: list[tuple[MessageKind, str | None]]) -> list[str]:
    lines: list[str] = []
    for kind, text in texts:
        if kind is MessageKind.TEXT:
            lines.append(f"«{text or ''}»")
        else:
            lines.append(f"[{turn.t(MEDIA_NAMES[kind])}]")
            if text:
                lines.append(f"«{text}»")
    return lines


async def ask_to_share(turn: Turn, participant: Participant, case: Escalation) -> None:
    """Show exactly what will be shared, and ask."""
    _ = turn.t
    name = mentor_name(turn, await own_mentor_first_name(turn, participant))
    messages = await cases(turn).messages(case.id, sender=Sender.PARTICIPANT)
    shown = shown_messages(turn, [(m.kind, m.text) for m in messages])
    if case.urgent:
        lines = [
            _("May {name} also read what you wrote?").format(name=name),
            "",
            *shown,
        ]
        buttons: Keyboard = [
            [Button(_("Yes, {name} may read it").format(name=name), pack(FLOW, "send", case.id))],
            [Button(_("No, only that I need help"), pack(FLOW, "keep", case.id))],
        ]
    else:
        lines = [
            _("This is what {name} will see:").format(name=name),
            _("Topic: {topic}").format(topic=topic(turn.t, case.category)),
            *shown,
            "",
            _("Shall I send it? You can also write more first."),
        ]
        buttons = [
            [Button(_("Yes, send it"), pack(FLOW, "send", case.id))],
            [Button(_("Choose another topic"), pack(FLOW, "change", case.id))],
            [Button(_("No, do not send it"), pack(FLOW, "keep", case.id))],
        ]
    await reply_linked(turn, case, with_neutral_line(turn.t, case, "\n".join(lines)), buttons)


async def add_to_draft(
    turn: Turn, participant: Participant, case: Escalation, incoming: domain.Incoming
) -> None:
    """More words before deciding: they join what will be shared."""
    now = turn.clock.now()
    flood = await domain.flood(turn.uow, participant, now)
    await domain.add_participant_message(turn.uow, case, incoming, now)
    result = triage(incoming.text) if incoming.text else None
    if result is not None and result.category.value != "none":
        category = domain.category_of(result.category.value)
        if result.urgent and not case.urgent:
            case.urgent = True
            case.status = EscalationStatus.OPEN
            domain.merge_triage(case, category, result.terms)
            case.category = category
            cases(turn).add_event(case, EventKind.URGENT, now, detail=category.value)
            await urgent_response(turn, participant, case)
            await ask_to_share(turn, participant, case)
            return
        domain.merge_triage(case, category, result.terms)
    if flood is not domain.Flood.NO:
        await flood_answer(turn, case, flood)
        return
    await ask_to_share(turn, participant, case)


async def flood_answer(turn: Turn, case: Escalation, flood: domain.Flood) -> None:
    """Everything is stored; the participant hears so once per window, kindly."""
    if flood is domain.Flood.HOLD_AND_TELL:
        cases(turn).add_event(case, EventKind.HELD, turn.clock.now())
        log.info("update=%s case=%s flood: held", turn.update_id, case.id)
        await turn.reply(
            turn.t(
                "Thank you, I have got all your messages and keep every one. "
                "I pass them on together in a moment, so nothing is lost."
            )
        )


async def continue_case(
    turn: Turn, participant: Participant, case: Escalation, incoming: domain.Incoming
) -> None:
    """The participant writes more in an ongoing case: it goes to whoever has it."""
    now = turn.clock.now()
    zone = turn.deps.settings.zone
    flood = await domain.flood(turn.uow, participant, now)
    message = await domain.add_participant_message(turn.uow, case, incoming, now)
    cases(turn).add_event(case, EventKind.RECEIVED, now)
    result = triage(incoming.text) if incoming.text else None
    if result is not None and result.urgent and not case.urgent:
        category = domain.category_of(result.category.value)
        await domain.make_urgent(turn.uow, case, category, result.terms, now)
        await relay_to_mentors(post_of(turn), case, participant, [message], now)
        await alert_urgent(turn, participant, case)
        return
    if flood is not domain.Flood.NO:
        await flood_answer(turn, case, flood)
        return
    mentors = await relay_to_mentors(post_of(turn), case, participant, [message], now)
    if not mentors:
        if case.status is EscalationStatus.CLAIMED:
            domain.release(turn.uow, case, now)
        paging = await domain.route(turn.uow, case, participant, now, zone)
        await tell_mentors(post_of(turn), case, participant, paging, now, widened=True)


async def alert_urgent(turn: Turn, participant: Participant, case: Escalation) -> None:
    """A case became urgent: tell whoever reads it, and the participant where to turn."""
    _ = turn.t
    now = turn.clock.now()
    post = post_of(turn)
    mentors = await domain.recipients(turn.uow, case)
    for mentor in mentors:
        t = post.t_for(mentor.locale)
        await tell_mentor(
            post,
            case,
            mentor,
            t("🔴 Request for help #{number} is now urgent. Topic: {topic}.").format(
                number=case.id, topic=topic(t, case.category)
            ),
            key=f"case:{case.id}:urgent:{mentor.id}:{now.isoformat()}",
        )
    if not mentors:
        paging = await domain.route(turn.uow, case, participant, now, turn.deps.settings.zone)
        await tell_mentors(post, case, participant, paging, now)
    text = "\n\n".join(
        [
            safety_text(turn, case.category, urgent=True),
            _("Your messages have been passed on, and this request is now marked as urgent."),
        ]
    )
    await reply_linked(turn, case, with_neutral_line(turn.t, case, text), hide_button(turn))


# Buttons


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    participant = turn.participant
    if callback is None or participant is None or role_of(turn) is not Role.PARTICIPANT:
        await stale_button(turn)
        return
    if callback.is_("topics", 0):
        await offer_topics(turn)
    elif callback.is_("topic", 1):
        category = topic_arg(callback.arg(0))
        if category is None:
            await stale_button(turn)
            return
        await choose_topic(turn, category)
    elif callback.is_("cancel", 0):
        await cancel(turn)
    elif callback.is_("hide", 0):
        await hide(turn, participant)
    elif callback.is_("reopen", 1):
        await reopen(turn, participant, callback.int_arg(0))
    elif callback.action in ("send", "keep", "change", "retopic"):
        await decide(turn, participant)
    else:
        await stale_button(turn)


def topic_arg(value: str | None) -> EscalationCategory | None:
    try:
        category = EscalationCategory(value or "")
    except ValueError:
        return None
    return category if category in TOPICS else None


async def cancel(turn: Turn) -> None:
    step = turn.step
    if step is None or step != (FLOW, DESCRIBE):
        await stale_button(turn)
        return
    await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    await turn.reply(turn.t("Okay, nothing was sent. Press /help whenever you need it."))


async def decide(turn: Turn, participant: Participant) -> None:
    """Send, keep or change the topic: only for the draft the participant is deciding on."""
    callback = turn.callback
    assert callback is not None
    step = turn.step
    data = turn.conversation.data if turn.conversation else {}
    case_id = callback.int_arg(0)
    if step != (FLOW, CONFIRM) or case_id is None or data.get("case") != case_id:
        await stale_button(turn)
        return
    case = await draft_of(turn, participant, case_id)
    if case is None:
        await turn.clear_state()
        await stale_button(turn)
        return
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if callback.is_("send", 1):
        await send(turn, participant, case)
    elif callback.is_("keep", 1):
        await keep(turn, participant, case)
    elif callback.is_("change", 1) and not case.urgent:
        await turn.reply(turn.t("Which topic fits best?"), topic_buttons(turn, "retopic", case.id))
    elif callback.is_("retopic", 2) and not case.urgent:
        category = topic_arg(callback.arg(1))
        if category is None:
            await stale_button(turn)
            return
        case.category = category
        await ask_to_share(turn, participant, case)
    else:
        await stale_button(turn)


async def send(turn: Turn, participant: Participant, case: Escalation) -> None:
    _ = turn.t
    now = turn.clock.now()
    settings = turn.deps.settings
    paging = await domain.share(turn.uow, case, participant, now, settings.zone)
    await turn.clear_state()
    post = post_of(turn)
    if case.urgent:
        messages = await cases(turn).messages(case.id, sender=Sender.PARTICIPANT)
        await relay_to_mentors(post, case, participant, messages, now)
    else:
        await tell_mentors(post, case, participant, paging, now)
    log.info("update=%s case=%s shared", turn.update_id, case.id)
    names = told_name(turn, paging.new)
    lines = [_("Sent to {name}. The answer comes here, in this chat.").format(name=names)]
    if not case.urgent:
        lines.append(_("You usually get an answer within one working day."))
    lines.append(_("Anything more you write here goes to {name} too.").format(name=names))
    if not paging.anyone and not case.urgent:
        lines = [
            _(
                "Nobody in the project can be reached right now. Your request is saved and "
                "goes to a mentor as soon as one can be reached."
            )
        ]
    extra = support_lines().texts(case.category.value, case.urgent, turn.locale)
    if extra and not case.urgent:
        lines.append("")
        lines.append(_("While you wait:"))
        lines.extend(extra)
    await reply_linked(turn, case, with_neutral_line(turn.t, case, "\n".join(lines)))


async def keep(turn: Turn, participant: Participant, case: Escalation) -> None:
    _ = turn.t
    now = turn.clock.now()
    urgent = case.urgent
    deleted = await domain.withhold(turn.uow, case, now)
    await turn.clear_state()
    log.info("update=%s case=%s withheld deleted=%s", turn.update_id, case.id, deleted)
    if deleted:
        await turn.reply(_("Okay. I have not sent it, and I have deleted it."))
        return
    assert urgent
    await reply_linked(
        turn,
        case,
        with_neutral_line(
            turn.t,
            case,
            _(
                "Okay. I have deleted your message, and nobody will read it. The mentor who "
                "was told knows only that you may need help, and may contact you."
            ),
        ),
    )


async def hide(turn: Turn, participant: Participant) -> None:
    """Delete the bot's messages about the participant's requests, and their own, from
    their chat: someone else may look at the phone. The cases themselves stay."""
    now = turn.clock.now()
    repository = cases(turn)
    targets: set[int] = set()
    if turn.callback_message_id is not None:
        targets.add(turn.callback_message_id)
    recent = await repository.of_participant(participant.id, list(EscalationStatus))
    for case in recent:
        if case.created_at < now - HIDE_WINDOW and case.status is EscalationStatus.RESOLVED:
            continue
        targets.update(await repository.sent_to_participant(case.id))
        for message in await repository.messages(case.id, sender=Sender.PARTICIPANT):
            if message.telegram_message_id is not None:
                targets.add(message.telegram_message_id)
        repository.add_event(case, EventKind.HIDDEN, now)
    chat_id = turn.actor.chat_id
    for message_id in sorted(targets):
        await turn.notifier.send(
            chat_id,
            {"method": "deleteMessage", "message_id": message_id},
            key=f"hide:{turn.update_id}:{message_id}",
            kind=OutboxKind.REPLY,
            participant_id=participant.id,
        )
    log.info(
        "update=%s participant=%s hid %s messages",
        turn.update_id,
        participant.public_id,
        len(targets),
    )
    turn.answer(turn.t("Deleted from this chat."))


async def reopen(turn: Turn, participant: Participant, case_id: int | None) -> None:
    _ = turn.t
    now = turn.clock.now()
    case = await cases(turn).get(case_id, lock=True) if case_id is not None else None
    if case is None or case.participant_id != participant.id:
        await stale_button(turn)
        return
    if not domain.may_reopen(case, participant, now):
        if case.status is EscalationStatus.RESOLVED:
            await turn.reply(
                _("This request was closed more than a week ago. Press /help to ask again.")
            )
        else:
            turn.answer(_("This request is open already."))
        return
    paging = await domain.reopen(turn.uow, case, participant, now, turn.deps.settings.zone)
    await tell_mentors(post_of(turn), case, participant, paging, now)
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    log.info("update=%s case=%s reopened", turn.update_id, case.id)
    await reply_linked(
        turn,
        case,
        with_neutral_line(turn.t, case, _("Your request is open again. Write here what you need.")),
    )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.fallback = on_free_message
    registry.help_entry = offer_topics
    registry.add_menu([MenuItem(N_("Ask for help"), pack(FLOW, "topics"), PARTICIPANTS, order=10)])
    return [
        CommandHandler("help", on_help),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
