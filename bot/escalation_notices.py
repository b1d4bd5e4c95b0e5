"""What the bot sends about a request for help, rendered for each reader, queued in the outbox.

Used by the help flow, the mentors' flow and the SLA job alike, so a page written by a
button press and one written by the job read the same. Every message about a violence
case starts with a neutral line: a lock-screen preview, on the participant's phone or
the mentor's, shows only that. Every row queued here is linked to its case, so a
mentor's reply to it finds the case, and a participant's "hide" finds what to delete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.callbacks import pack
from bot.domain import escalation as domain
from bot.i18n import N_, Translator
from bot.messaging import TELEGRAM_CAPTION_LIMIT, Button, Keyboard, Notifier, keyboard_markup
from storage.escalations import Escalations
from storage.models import (
    Audience,
    Escalation,
    EscalationCategory,
    EscalationMessage,
    Mentor,
    MessageKind,
    OutboxKind,
    OutboxMessage,
    Participant,
)
from storage.uow import UnitOfWork

CASE_FLOW = "case"  # the mentors' buttons (bot/flows/cases.py)
HELP_FLOW = "help"  # the participants' buttons (bot/flows/help.py)

TOPIC_LABELS: dict[EscalationCategory, str] = {
    EscalationCategory.HOUSING: N_("Housing"),
    EscalationCategory.DEBT: N_("Money and debts"),
    EscalationCategory.VIOLENCE: N_("Violence or threats"),
    EscalationCategory.HEALTH: N_("Health and care"),
    EscalationCategory.OTHER: N_("Something else"),
}
NEUTRAL_LINE = N_("New message from Stegvis.")
SEND_METHODS: dict[MessageKind, str] = {
    MessageKind.PHOTO: "sendPhoto",
    MessageKind.VOICE: "sendVoice",
    MessageKind.DOCUMENT: "sendDocument",
    MessageKind.AUDIO: "sendAudio",
    MessageKind.VIDEO: "sendVideo",
}
MEDIA_NAMES: dict[MessageKind, str] = {
    MessageKind.PHOTO: N_("a photo"),
    MessageKind.VOICE: N_("a voice message"),
    MessageKind.DOCUMENT: N_("a document"),
    MessageKind.AUDIO: N_("an audio file"),
    MessageKind.VIDEO: N_("a video"),
}


@dataclass
class Post:
    """Where notices go and how they are worded: the unit of work, the outbox, gettext
    for any reader's language, and the project's zone."""

    uow: UnitOfWork
    notifier: Notifier
    translator: Callable[[str], Translator]
    default_locale: str
    zone: ZoneInfo

    @property
    def cases(self) -> Escalations:
        return self.uow.repository(Escalations)

    def t_for(self, locale: str | None) -> Translator:
        return self.translator(locale or self.default_locale)

    def link(self, case: Escalation, rows: Sequence[OutboxMessage], audience: Audience) -> None:
        for row in rows:
            self.cases.link(case, row.id, audience)


def with_neutral_line(t: Translator, case: Escalation, text: str) -> str:
    """Violence: the first line reveals nothing on a lock screen."""
    if case.category is EscalationCategory.VIOLENCE:
        return f"{t(NEUTRAL_LINE)}\n\n{text}"
    return text


def topic(t: Translator, category: EscalationCategory) -> str:
    return t(TOPIC_LABELS[category])


def quoted_terms(terms: Sequence[str]) -> str:
    return ", ".join(f"“{term}”" for term in terms)


def who(participant: Participant) -> str:
    name = participant.display_name or participant.public_id
    return f"{name} ({participant.public_id})"


def mentor_buttons(t: Translator, case: Escalation) -> Keyboard:
    return [
        [
            Button(t("Take it"), pack(CASE_FLOW, "claim", case.id)),
            Button(t("Reply"), pack(CASE_FLOW, "reply", case.id)),
        ],
        [Button(t.pgettext("a request for help", "Done"), pack(CASE_FLOW, "done", case.id))],
    ]


def message_lines(t: Translator, messages: Sequence[EscalationMessage]) -> list[str]:
    lines: list[str] = []
    for message in messages:
        if message.kind is MessageKind.TEXT:
            lines.append(message.text or "")
        else:
            media = t(MEDIA_NAMES[message.kind])
            lines.append(t("[{media}, sent below]").format(media=media))
            if message.text:
                lines.append(message.text)
    return lines


def case_notice(
    t: Translator,
    case: Escalation,
    participant: Participant,
    messages: Sequence[EscalationMessage],
    *,
    reminder: bool,
    widened: bool,
) -> str:
    """The notification a mentor gets: who, topic, why (matched terms), the message."""
    if case.urgent:
        title = t("🔴 Urgent request for help #{number}").format(number=case.id)
    else:
        title = t("Request for help #{number}").format(number=case.id)
    lines = [title]
    if reminder:
        lines.append(t("Nobody has taken this request yet."))
    elif widened:
        lines.append(t("You get this because nobody has taken it in time."))
    lines.append(t("From: {participant}").format(participant=who(participant)))
    lines.append(t("Topic: {topic}").format(topic=topic(t, case.category)))
    if case.terms:
        lines.append(t("Words that matched: {terms}").format(terms=quoted_terms(case.terms)))
    lines.append("")
    if case.shared_at is None:
        lines.append(
            t(
                "{name} has not yet said whether you may read the message itself. "
                "Please contact {name} as soon as you can."
            ).format(name=participant.display_name or participant.public_id)
        )
    else:
        lines.append(t("Message:"))
        lines.extend(message_lines(t, messages))
    lines.append("")
    lines.append(t("Reply to this message to answer, or use the buttons."))
    return with_neutral_line(t, case, "\n".join(lines))


async def tell_mentors(
    post: Post,
    case: Escalation,
    participant: Participant,
    paging: domain.Paging,
    now: datetime,
    *,
    widened: bool = False,
) -> None:
    """Queue the case's notification for everyone `paging` names, then its media."""
    messages = await post.cases.messages(case.id) if case.shared_at is not None else []
    from_participant = [m for m in messages if m.mentor_id is None]
    due = domain.notice_due(case, now, post.zone)
    for mentor, reminder in [(m, False) for m in paging.new] + [(m, True) for m in paging.again]:
        if mentor.telegram_user_id is None:
            continue
        t = post.t_for(mentor.locale)
        text = case_notice(
            t, case, participant, from_participant, reminder=reminder, widened=widened
        )
        rows = await post.notifier.send_text(
            mentor.telegram_user_id,
            text,
            key=f"case:{case.id}:notice:{mentor.id}:{now.isoformat()}",
            kind=OutboxKind.NOTIFICATION,
            buttons=mentor_buttons(t, case),
            due_at=due,
            mentor_id=mentor.id,
            participant_id=participant.id,
        )
        post.link(case, rows, Audience.MENTOR)
        if not reminder:
            for message in from_participant:
                if message.kind is not MessageKind.TEXT:
                    await _media_to_mentor(post, case, participant, mentor, message, due)
    for message in from_participant:
        if message.relayed_at is None:
            message.relayed_at = now


def _media_payload(
    message: EscalationMessage, caption: str, buttons: Keyboard | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "method": SEND_METHODS[message.kind],
        message.kind.value: message.file_id,
        "caption": caption[:TELEGRAM_CAPTION_LIMIT],
    }
    markup = keyboard_markup(buttons)
    if markup:
        payload["reply_markup"] = markup
    return payload


def _from_line(t: Translator, case: Escalation, participant: Participant) -> str:
    return t("{participant} · request #{number}:").format(
        participant=who(participant), number=case.id
    )


async def _media_to_mentor(
    post: Post,
    case: Escalation,
    participant: Participant,
    mentor: Mentor,
    message: EscalationMessage,
    due: datetime,
) -> None:
    assert mentor.telegram_user_id is not None
    t = post.t_for(mentor.locale)
    caption = _from_line(t, case, participant)
    if message.text:
        caption = f"{caption}\n{message.text}"
    row = await post.notifier.send(
        mentor.telegram_user_id,
        _media_payload(
            message,
            with_neutral_line(t, case, caption),
            [[Button(t("Reply"), pack(CASE_FLOW, "reply", case.id))]],
        ),
        key=f"case:{case.id}:msg:{message.id}:m{mentor.id}",
        kind=OutboxKind.NOTIFICATION,
        due_at=due,
        mentor_id=mentor.id,
        participant_id=participant.id,
    )
    if row is not None:
        post.link(case, [row], Audience.MENTOR)


async def relay_to_mentors(
    post: Post,
    case: Escalation,
    participant: Participant,
    messages: Sequence[EscalationMessage],
    now: datetime,
) -> list[Mentor]:
    """Pass what the participant wrote to whoever reads the case now. Several texts (a
    flood held back) go as one message."""
    mentors = await domain.recipients(post.uow, case)
    due = domain.notice_due(case, now, post.zone)
    texts = [m for m in messages if m.kind is MessageKind.TEXT]
    for mentor in mentors:
        assert mentor.telegram_user_id is not None
        t = post.t_for(mentor.locale)
        if texts:
            body = "\n\n".join(m.text or "" for m in texts)
            rows = await post.notifier.send_text(
                mentor.telegram_user_id,
                with_neutral_line(t, case, f"{_from_line(t, case, participant)}\n{body}"),
                key=f"case:{case.id}:msg:{texts[0].id}-{texts[-1].id}:m{mentor.id}",
                kind=OutboxKind.NOTIFICATION,
                buttons=[[Button(t("Reply"), pack(CASE_FLOW, "reply", case.id))]],
                due_at=due,
                mentor_id=mentor.id,
                participant_id=participant.id,
            )
            post.link(case, rows, Audience.MENTOR)
        for message in messages:
            if message.kind is not MessageKind.TEXT:
                await _media_to_mentor(post, case, participant, mentor, message, due)
    for message in messages:
        message.relayed_at = now
    return mentors


def sender_line(t: Translator, mentor: Mentor, participant: Participant) -> str:
    """The participant sees who answers, never the mentor's own Telegram account."""
    if participant.mentor_id == mentor.id:
        return t("Your mentor {name}:").format(name=mentor.first_name)
    return t("{name} from the Stegvis team:").format(name=mentor.first_name)


async def relay_to_participant(
    post: Post,
    case: Escalation,
    participant: Participant,
    mentor: Mentor,
    message: EscalationMessage,
) -> None:
    """A mentor's answer, sent by the bot, in the participant's chat."""
    if participant.chat_id is None:
        return
    t = post.t_for(participant.locale)
    line = sender_line(t, mentor, participant)
    key = f"case:{case.id}:msg:{message.id}:p"
    if message.kind is MessageKind.TEXT:
        rows = await post.notifier.send_text(
            participant.chat_id,
            with_neutral_line(t, case, f"{line}\n{message.text or ''}"),
            key=key,
            kind=OutboxKind.NOTIFICATION,
            participant_id=participant.id,
        )
        post.link(case, rows, Audience.PARTICIPANT)
        return
    caption = f"{line}\n{message.text}" if message.text else line
    row = await post.notifier.send(
        participant.chat_id,
        _media_payload(message, with_neutral_line(t, case, caption), None),
        key=key,
        kind=OutboxKind.NOTIFICATION,
        participant_id=participant.id,
    )
    if row is not None:
        post.link(case, [row], Audience.PARTICIPANT)


async def tell_participant(
    post: Post,
    case: Escalation,
    participant: Participant,
    text: str,
    *,
    key: str,
    buttons: Keyboard | None = None,
) -> None:
    """A notice to the participant about their case (it was taken, it is done)."""
    if participant.chat_id is None or participant.erased_at is not None:
        return
    t = post.t_for(participant.locale)
    rows = await post.notifier.send_text(
        participant.chat_id,
        with_neutral_line(t, case, text),
        key=key,
        kind=OutboxKind.NOTIFICATION,
        buttons=buttons,
        participant_id=participant.id,
    )
    post.link(case, rows, Audience.PARTICIPANT)


async def tell_mentor(
    post: Post,
    case: Escalation,
    mentor: Mentor,
    text: str,
    *,
    key: str,
    buttons: Keyboard | None = None,
) -> None:
    """A short notice to one mentor about a case (another mentor took it, it reopened)."""
    if mentor.telegram_user_id is None or not domain.reachable(mentor):
        return
    t = post.t_for(mentor.locale)
    rows = await post.notifier.send_text(
        mentor.telegram_user_id,
        with_neutral_line(t, case, text),
        key=key,
        kind=OutboxKind.NOTIFICATION,
        buttons=buttons,
        mentor_id=mentor.id,
    )
    post.link(case, rows, Audience.MENTOR)


async def announce_claim(
    post: Post, case: Escalation, participant: Participant, mentor: Mentor, *, key: str
) -> None:
    """A mentor has taken the case (in Telegram or on the dashboard): the participant is
    told who will answer, and the other mentors who were told that someone has it."""
    t = post.t_for(participant.locale)
    await tell_participant(
        post,
        case,
        participant,
        t("{name} has read your request and will answer you here.").format(name=mentor.first_name),
        key=f"case:{case.id}:claimed:{mentor.id}:{key}",
    )
    for other_id in await post.cases.notified_mentor_ids(case.id):
        if other_id == mentor.id:
            continue
        other = await post.uow.mentors.get(other_id)
        if other is None:
            continue
        t = post.t_for(other.locale)
        await tell_mentor(
            post,
            case,
            other,
            t("{name} has taken request #{number}.").format(name=mentor.first_name, number=case.id),
            key=f"case:{case.id}:taken:{other.id}:{key}",
        )


async def announce_resolved(
    post: Post, case: Escalation, participant: Participant, mentor: Mentor | None, *, key: str
) -> None:
    """The case is done: the participant is told, with a button to reopen it within a
    week. Project staff who close it without a mentor's role are not named."""
    t = post.t_for(participant.locale)
    if mentor is not None:
        text = t(
            "{name} has marked your request as done. If you still need help with it, "
            "press the button within a week."
        ).format(name=mentor.first_name)
    else:
        text = t(
            "Your request is marked as done. If you still need help with it, "
            "press the button within a week."
        )
    await tell_participant(
        post,
        case,
        participant,
        text,
        key=f"case:{case.id}:resolved:{key}",
        buttons=[[Button(t("Reopen my request"), pack(HELP_FLOW, "reopen", case.id))]],
    )
