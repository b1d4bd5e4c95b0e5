"""Appointment reminders (/remind for mentors), the participant's answer, and /stop.

States (conversation.flow == FLOW), for a mentor setting a reminder step by step:
    WHO    which participant (buttons, or their id typed)
    DAY    which day (buttons for the coming week, or a date typed)
    TIME   what time (buttons, or a time typed)
    PLACE  where, with an optional note on the next lines; saving ends the flow
`/remind P7K3Q 2026-12-03 14:00 Place | note` does it in one line. The place and note
are the mentor's free text: they go straight into the encrypted appointment row, never
into the conversation state. The reminders are outbox rows written with the appointment,
rendered in the participant's language; the answer ("I will come" / "I need another
time") is stored and reaches the mentor in the mentor's language.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler, CommandHandler

from bot.callbacks import pack
from bot.dispatch import mark_unreachable
from bot.domain import appointments as domain
from bot.domain.appointments import AppointmentProblem, Problem
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard
from bot.turn import Turn, turn_handler
from storage.models import Appointment, AppointmentAnswer, Mentor, OutboxKind, Participant

from .common import stale_button
from .registry import MENTORS, PARTICIPANTS, Command, FlowRegistry, MenuItem

log = logging.getLogger(__name__)

FLOW = "rem"
WHO = "who"
DAY = "day"
TIME = "time"
PLACE = "place"

BUTTON_LIMIT = 30  # participants offered as buttons; more are typed by id
TIMES = ("0900", "1000", "1100", "1300", "1400", "1500")

PROBLEMS = {
    Problem.BAD_DATE: N_("I could not read that date. Write it like 3/12 or 2026-12-03."),
    Problem.BAD_TIME: N_("I could not read that time. Write it like 14:30."),
    Problem.PAST: N_("That time has already passed. Please choose a later time."),
    Problem.TOO_FAR: N_("That is more than a year away. Please choose an earlier date."),
    Problem.NO_PLACE: N_("Please write where the appointment is."),
    Problem.TOO_LONG: N_("That is too long. Please keep the place and the note shorter."),
    Problem.CANCELLED: N_("This appointment was cancelled."),
    Problem.OVER: N_("This appointment has already passed."),
}


def command_args(message: Message | None) -> str:
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def label(participant: Participant) -> str:
    return f"{participant.public_id} {participant.display_name or ''}".strip()


def quit_button(turn: Turn) -> list[Button]:
    return [Button(turn.t("Cancel"), pack(FLOW, "quit"))]


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _today(turn: Turn) -> date:
    return turn.clock.now().astimezone(turn.deps.settings.zone).date()


# Asking


async def ask_who(turn: Turn, mentor: Mentor) -> None:
    _ = turn.t
    people = await domain.participants_of(turn.uow, mentor)
    if not people:
        await turn.clear_state()
        await turn.reply(_("You have no participants yet, so there is nobody to remind."))
        return
    await turn.set_state(FLOW, WHO, {})
    buttons: list[list[Button]] = [
        [Button(label(person), pack(FLOW, "who", person.id))] for person in people[:BUTTON_LIMIT]
    ]
    buttons.append(quit_button(turn))
    await turn.reply(
        _("Who is the appointment with? Choose below, or write their participant id (like P7K3Q)."),
        buttons,
    )


async def ask_day(turn: Turn, participant: Participant) -> None:
    _ = turn.t
    await turn.set_state(FLOW, DAY, {"participant": participant.id})
    today = _today(turn)
    days = [today + timedelta(days=offset) for offset in range(7)]
    buttons: list[list[Button]] = [
        [Button(turn.t.date(day), pack(FLOW, "day", day.strftime("%Y%m%d")))] for day in days
    ]
    buttons.append(quit_button(turn))
    await turn.reply(
        _(
            "Appointment with {participant}. Which day? Choose below, or write a date "
            "like 3/12 or 2026-12-03."
        ).format(participant=participant.public_id),
        buttons,
    )


async def ask_time(turn: Turn, data: dict[str, object]) -> None:
    await turn.set_state(FLOW, TIME, data)
    buttons: Keyboard = [
        [Button(f"{t[:2]}:{t[2:]}", pack(FLOW, "time", t)) for t in TIMES[:3]],
        [Button(f"{t[:2]}:{t[2:]}", pack(FLOW, "time", t)) for t in TIMES[3:]],
        quit_button(turn),
    ]
    await turn.reply(turn.t("What time? Choose below, or write a time like 14:30."), buttons)


async def ask_place(turn: Turn, data: dict[str, object]) -> None:
    await turn.set_state(FLOW, PLACE, data)
    await turn.reply(
        turn.t(
            "Where is it? Write the place on the first line. You can add a note for the "
            "participant on the next lines."
        ),
        [quit_button(turn)],
    )


async def ask_again(turn: Turn) -> None:
    """Show the current step's question again (after a sticker, say)."""
    mentor = turn.mentor
    step = turn.step
    data = dict(turn.conversation.data) if turn.conversation else {}
    if mentor is None or step is None:
        await turn.clear_state()
        return
    if step[1] == WHO:
        await ask_who(turn, mentor)
    elif step[1] == DAY:
        participant = await _participant_in(turn, data)
        if participant is not None:
            await ask_day(turn, participant)
    elif step[1] == TIME:
        await ask_time(turn, data)
    else:
        await ask_place(turn, data)


async def _participant_in(turn: Turn, data: dict[str, object]) -> Participant | None:
    """The participant the stored state names, re-checked as the mentor's own."""
    participant_id = data.get("participant")
    if turn.mentor is None or not isinstance(participant_id, int):
        return None
    participant = await turn.uow.participants.get(participant_id)
    if participant is None:
        return None
    try:
        return await domain.own_participant(turn.uow, turn.mentor, participant.public_id)
    except AppointmentProblem:
        return None


# Saving


def reminder_text(t: Translator, mentor: str, appointment: Appointment) -> str:
    lines = [
        t("Reminder: you have an appointment with {mentor} on {when}.").format(
            mentor=mentor, when=t.datetime(appointment.starts_at)
        ),
        t("Place: {place}").format(place=appointment.place),
    ]
    if appointment.note:
        lines.append(t("Note from {mentor}: {note}").format(mentor=mentor, note=appointment.note))
    lines.append("")
    lines.append(t("Will you come?"))
    return "\n".join(lines)


def answer_buttons(t: Translator, appointment_id: int) -> Keyboard:
    return [
        [Button(t("I will come"), pack(FLOW, "ans", appointment_id, "come"))],
        [Button(t("I need another time"), pack(FLOW, "ans", appointment_id, "other"))],
    ]


async def save(
    turn: Turn, participant: Participant, at: datetime, place: str, note: str | None
) -> None:
    _ = turn.t
    mentor = turn.mentor
    assert mentor is not None and participant.chat_id is not None
    now = turn.clock.now()
    appointment = await domain.schedule(
        turn.uow, mentor=mentor, participant=participant, at=at, place=place, note=note, now=now
    )
    t = turn.deps.translator(participant.locale)
    times = domain.reminder_times(at, turn.deps.settings.appointment_reminder_offsets, now)
    for hours, due in times:
        await turn.notifier.send_text(
            participant.chat_id,
            reminder_text(t, mentor.first_name, appointment),
            key=f"appointment:{appointment.id}:{hours}h",
            kind=OutboxKind.REMINDER,
            buttons=answer_buttons(t, appointment.id),
            due_at=due,
            participant_id=participant.id,
            appointment_id=appointment.id,
        )
    await turn.clear_state()
    log.info(
        "update=%s appointment=%s participant=%s reminders=%s",
        turn.update_id,
        appointment.id,
        participant.public_id,
        len(times),
    )
    lines = [
        _("Saved: appointment with {participant} on {when}, at {place}.").format(
            participant=participant.public_id, when=turn.t.datetime(at), place=place
        )
    ]
    if times:
        lines.append(
            _("{participant} gets a reminder on {times}.").format(
                participant=participant.public_id,
                times=", ".join(turn.t.datetime(due) for _hours, due in times),
            )
        )
    else:
        lines.append(_("It is too soon for a reminder, so none will be sent."))
    if participant.reminders_paused_at is not None:
        lines.append(
            _(
                "Note: {participant} has paused reminders and gets none until they send "
                "/start again."
            ).format(participant=participant.public_id)
        )
    elif participant.unreachable_at is not None:
        lines.append(
            _("Note: {participant} has blocked Stegvis, so the reminder may not arrive.").format(
                participant=participant.public_id
            )
        )
    await turn.reply(
        "\n".join(lines),
        [[Button(_("Cancel this appointment"), pack(FLOW, "cancel", appointment.id))]],
    )


async def remind_in_one_line(turn: Turn, args: str) -> None:
    _ = turn.t
    mentor = turn.mentor
    assert mentor is not None
    line = domain.parse_one_line(args)
    if line is None:
        await turn.reply(
            _("Write it like this: /remind P7K3Q 2026-12-03 14:00 Place | note")
            + "\n"
            + _("Or send /remind alone, and I will ask step by step.")
        )
        return
    try:
        participant = await domain.own_participant(turn.uow, mentor, line.public_id)
        day = domain.parse_date(line.day, _today(turn))
        at = domain.starts_at(
            day, domain.parse_time(line.time), turn.deps.settings.zone, turn.clock.now()
        )
        place, note = domain.split_place_and_note(line.rest)
    except AppointmentProblem as problem:
        await refuse(turn, problem.problem, line.public_id)
        return
    await save(turn, participant, at, place, note)


async def refuse(turn: Turn, problem: Problem, public_id: str = "") -> None:
    log.info("update=%s reminder refused: %s", turn.update_id, problem)
    if problem is Problem.NOT_YOURS:
        await turn.reply(
            turn.t("I can't find {id} among your participants.").format(id=public_id[:16])
        )
        return
    await turn.reply(turn.t(PROBLEMS[problem]))


# Handlers


@turn_handler
async def on_remind(turn: Turn, update: Update) -> None:
    if turn.mentor is None:
        log.info(
            "update=%s user=%s /remind by a non-mentor", turn.update_id, turn.actor.telegram_user_id
        )
        await turn.reply(turn.t("Only mentors can set appointment reminders."))
        return
    args = command_args(update.effective_message)
    if args:
        await remind_in_one_line(turn, args)
        return
    await ask_who(turn, turn.mentor)


@turn_handler
async def on_stop(turn: Turn, update: Update) -> None:
    _ = turn.t
    participant = turn.participant
    if participant is None or participant.erased_at is not None:
        log.info(
            "update=%s user=%s /stop by a non-participant",
            turn.update_id,
            turn.actor.telegram_user_id,
        )
        await turn.reply(_("/stop pauses reminders for participants. You have none to pause."))
        return
    if participant.reminders_paused_at is not None:
        await turn.reply(_("Reminders are paused already. Send /start to turn them on again."))
        return
    participant.reminders_paused_at = turn.clock.now()
    log.info("update=%s participant=%s paused reminders", turn.update_id, participant.public_id)
    await turn.reply(
        _(
            "Okay, I have paused reminders and messages to your group. You can still write "
            "to your mentor here. Send /start to turn them on again."
        )
    )


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None:
        await stale_button(turn)
        return
    if callback.is_("ans", 2):
        await on_answer(turn, callback.int_arg(0), callback.arg(1))
        return
    if callback.is_("cancel", 1):
        await on_cancel(turn, callback.int_arg(0))
        return
    mentor = turn.mentor
    if mentor is None:
        await stale_button(turn)
        return
    if callback.is_("new", 0):
        await ask_who(turn, mentor)
        return
    step = turn.step
    if step is None or step[0] != FLOW:
        await stale_button(turn)
        return
    data = dict(turn.conversation.data) if turn.conversation else {}
    if callback.is_("quit", 0):
        await turn.clear_state()
        await turn.reply(turn.t("Okay, nothing was saved."))
    elif callback.is_("who", 1) and step[1] == WHO and callback.int_arg(0) is not None:
        participant = await _participant_in(turn, {"participant": callback.int_arg(0)})
        if participant is None:
            await stale_button(turn)
            return
        await ask_day(turn, participant)
    elif callback.is_("day", 1) and step[1] == DAY and (day := _day(callback.arg(0) or "")):
        if day < _today(turn):
            await refuse(turn, Problem.PAST)
            return
        await ask_time(turn, {**data, "day": day.isoformat()})
    elif callback.is_("time", 1) and step[1] == TIME:
        await choose_time(turn, data, callback.arg(0) or "")
    else:
        await stale_button(turn)


async def choose_time(turn: Turn, data: dict[str, object], text: str) -> None:
    try:
        clock = domain.parse_time(
            text if ":" in text or len(text) <= 2 else f"{text[:-2]}:{text[-2:]}"
        )
        day = date.fromisoformat(str(data.get("day")))
        at = domain.starts_at(day, clock, turn.deps.settings.zone, turn.clock.now())
    except AppointmentProblem as problem:
        await refuse(turn, problem.problem)
        return
    except ValueError:
        await turn.clear_state()
        await stale_button(turn)
        return
    await ask_place(turn, {**data, "at": at.isoformat()})


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    """Typed answers to the current step; anything else asks again, changing nothing."""
    step = turn.step
    data = dict(turn.conversation.data) if turn.conversation else {}
    mentor = turn.mentor
    if mentor is None or step is None:
        await turn.clear_state()
        await turn.reply(turn.t("Only mentors can set appointment reminders."))
        return
    if message.text is None:
        await turn.reply(turn.t("Please write it as text, or use the buttons."))
        await ask_again(turn)
        return
    text = message.text.strip()
    if step[1] == WHO:
        try:
            participant = await domain.own_participant(turn.uow, mentor, text)
        except AppointmentProblem as problem:
            await refuse(turn, problem.problem, text)
            return
        await ask_day(turn, participant)
    elif step[1] == DAY:
        try:
            day = domain.parse_date(text, _today(turn))
        except AppointmentProblem as problem:
            await refuse(turn, problem.problem)
            return
        if day < _today(turn):
            await refuse(turn, Problem.PAST)
            return
        await ask_time(turn, {**data, "day": day.isoformat()})
    elif step[1] == TIME:
        await choose_time(turn, data, text)
    else:
        chosen = await _participant_in(turn, data)
        at_text = data.get("at")
        if chosen is None or not isinstance(at_text, str):
            await turn.clear_state()
            await turn.reply(
                turn.t("Something changed meanwhile. Please start again with /remind.")
            )
            return
        try:
            place, note = domain.split_place_and_note(message.text)
            at = datetime.fromisoformat(at_text)
            if at <= turn.clock.now():
                raise AppointmentProblem(Problem.PAST)
        except AppointmentProblem as problem:
            await refuse(turn, problem.problem)
            if problem.problem is Problem.PAST:
                await ask_time(turn, data)
            return
        await save(turn, chosen, at, place, note)


async def on_answer(turn: Turn, appointment_id: int | None, choice: str | None) -> None:
    _ = turn.t
    participant = turn.participant
    answers = {"come": AppointmentAnswer.COMING, "other": AppointmentAnswer.NEEDS_NEW_TIME}
    if participant is None or appointment_id is None or choice not in answers:
        await stale_button(turn)
        return
    try:
        result = await domain.answer(
            turn.uow,
            participant=participant,
            appointment_id=appointment_id,
            answer=answers[choice],
            now=turn.clock.now(),
        )
    except AppointmentProblem as problem:
        if problem.problem is Problem.NOT_YOURS:
            await stale_button(turn)
        else:
            turn.answer(_(PROBLEMS[problem.problem]), alert=True)
        return
    appointment = result.appointment
    mentor = await turn.uow.mentors.get(appointment.mentor_id)
    mentor_name = mentor.first_name if mentor else ""
    when = turn.t.datetime(appointment.starts_at)
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    if appointment.answer is AppointmentAnswer.COMING:
        await turn.reply(_("Thank you! See you on {when}.").format(when=when))
    else:
        await turn.reply(
            _("Okay. I have told {mentor}, who will contact you about a new time.").format(
                mentor=mentor_name
            )
        )
    log.info(
        "update=%s participant=%s appointment=%s answered %s",
        turn.update_id,
        participant.public_id,
        appointment.id,
        appointment.answer,
    )
    if not result.changed or mentor is None or mentor.telegram_user_id is None:
        return
    t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
    if appointment.answer is AppointmentAnswer.COMING:
        text = t("{participant} will come to the appointment on {when}.")
    else:
        text = t(
            "{participant} needs another time for the appointment on {when}. Please contact them."
        )
    await turn.notifier.send_text(
        mentor.telegram_user_id,
        text.format(participant=participant.public_id, when=t.datetime(appointment.starts_at)),
        key=f"appointment:{appointment.id}:answer:{turn.update_id}",
        kind=OutboxKind.NOTIFICATION,
        mentor_id=mentor.id,
        appointment_id=appointment.id,
    )


async def on_cancel(turn: Turn, appointment_id: int | None) -> None:
    _ = turn.t
    mentor = turn.mentor
    if mentor is None or appointment_id is None:
        await stale_button(turn)
        return
    try:
        result = await domain.cancel(
            turn.uow, mentor=mentor, appointment_id=appointment_id, now=turn.clock.now()
        )
    except AppointmentProblem as problem:
        if problem.problem is Problem.NOT_YOURS:
            await stale_button(turn)
        else:
            turn.answer(_(PROBLEMS[problem.problem]), alert=True)
        return
    appointment = result.appointment
    participant = await turn.uow.participants.get(appointment.participant_id)
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    public_id = participant.public_id if participant else "–"
    await turn.reply(
        _("The appointment with {participant} on {when} is cancelled.").format(
            participant=public_id, when=turn.t.datetime(appointment.starts_at)
        )
    )
    log.info("update=%s appointment=%s cancelled", turn.update_id, appointment.id)
    if participant is None or participant.chat_id is None or not result.participant_was_reminded:
        return
    t = turn.deps.translator(participant.locale)
    await turn.notifier.send_text(
        participant.chat_id,
        t(
            "Your appointment with {mentor} on {when} is cancelled. {mentor} will contact you."
        ).format(mentor=mentor.first_name, when=t.datetime(appointment.starts_at)),
        key=f"appointment:{appointment.id}:cancelled",
        kind=OutboxKind.NOTIFICATION,
        participant_id=participant.id,
        appointment_id=appointment.id,
    )


@turn_handler
async def on_membership(turn: Turn, update: Update) -> None:
    """Blocking the bot is seen at once (no 403 needed); unblocking makes them reachable."""
    change = update.my_chat_member
    if change is None:
        return
    now = turn.clock.now()
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        await mark_unreachable(turn.uow.session, turn.actor.chat_id, now)
        log.info("update=%s user=%s blocked the bot", turn.update_id, turn.actor.telegram_user_id)
    elif status == ChatMemberStatus.MEMBER:
        if turn.participant is not None:
            turn.participant.unreachable_at = None
        if turn.mentor is not None:
            turn.mentor.unreachable_at = None
        log.info("update=%s user=%s unblocked the bot", turn.update_id, turn.actor.telegram_user_id)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu(
        [MenuItem(N_("Set an appointment reminder"), pack(FLOW, "new"), MENTORS, order=30)]
    )
    registry.add_commands(
        [
            Command("remind", N_("set an appointment reminder"), MENTORS, order=30),
            Command("stop", N_("pause reminders"), PARTICIPANTS, order=85),
        ]
    )
    return [
        CommandHandler("remind", on_remind),
        CommandHandler("stop", on_stop),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
        ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
