"""The check-in: a face for the week, what was done toward work or studies, help or not.

States (conversation.flow == FLOW; the check-in row holds the answers and its own step):
    mood        the faces are shown
    activities  the activity toggles are shown (ticks are stored as they are pressed)
    help        "Do you want help with something?" is shown
    day, time   the participant is choosing another day and time for check-ins
Buttons carry the check-in id and are checked against the stored check-in: an old or
closed check-in's buttons change nothing and get a kind word. Each answer and the move
to the next question are stored in the turn's one transaction.

Free text during a check-in is never swallowed, because it may say something a human
must see: with the help flow's triage registered it goes there; without it, it is kept
(sealed) as the check-in's note and sent to the mentor, and the question is asked again.

`CheckinJob` is the periodic work: schedules for new participants, due check-ins (their
first message queued in the outbox in the same transaction), one nudge, expiry.
"""

from __future__ import annotations

import logging
from datetime import time

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import checkin as domain
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard, Notifier, OutgoingText
from bot.turn import Deps, Turn, turn_handler
from storage.models import Checkin, CheckinStatus, CheckinStep, FlagKind, OutboxKind, Participant
from storage.models.progress import Checkins, IdleConversations
from storage.uow import UnitOfWork

from . import plan
from .common import default_fallback, show_menu, stale_button
from .notices import tell_mentors
from .registry import PARTICIPANTS, Command, FlowRegistry, MenuItem, Role, in_contact, role_of
from .wording import (
    ACTIVITY_LABELS,
    FACES,
    STEP_LABELS,
    face,
    greeting,
    schedule_text,
    short_name,
    when,
)

log = logging.getLogger(__name__)

FLOW = "ci"
MOOD = CheckinStep.MOOD.value
ACTIVITIES = CheckinStep.ACTIVITIES.value
HELP = CheckinStep.HELP.value
PICK_DAY = "day"
PICK_TIME = "time"
# The times a participant can choose from: daytime only, so nothing comes at night.
TIMES = (time(8, 0), time(10, 0), time(12, 0), time(14, 0), time(16, 0), time(18, 0))
# How much one job tick does at most before it lets the others run.
MAX_BATCHES_PER_TICK = 20


# Rendering


def mood_question(t: Translator) -> str:
    return t("How has your week been?")


def mood_buttons(t: Translator, checkin_id: int) -> Keyboard:
    return [[Button(face(mood, t), pack(FLOW, "mood", checkin_id, mood))] for mood in FACES]


def activities_question(t: Translator) -> str:
    return t("What did you do for work or studies this week? Choose all that fit, then press Done.")


def activities_buttons(t: Translator, checkin: Checkin) -> Keyboard:
    rows = [
        [
            Button(
                ("☑ " if code in checkin.activities else "☐ ") + t(label),
                pack(FLOW, "act", checkin.id, code),
            )
        ]
        for code, label in ACTIVITY_LABELS.items()
    ]
    rows.append([Button("✓ " + t("Done"), pack(FLOW, "done", checkin.id))])
    return rows


def chosen_activities(t: Translator, checkin: Checkin) -> str:
    return ", ".join(t(ACTIVITY_LABELS[code]) for code in checkin.activities)


def help_question(t: Translator) -> str:
    return t("Do you want help with something?")


def help_buttons(t: Translator, checkin_id: int) -> Keyboard:
    return [
        [Button(t("Yes, I would like help"), pack(FLOW, "help", checkin_id, "yes"))],
        [Button(t("No, thank you"), pack(FLOW, "help", checkin_id, "no"))],
    ]


def question_for(t: Translator, checkin: Checkin) -> tuple[str, Keyboard]:
    """The question a check-in is waiting for, with its buttons."""
    if checkin.step is CheckinStep.ACTIVITIES:
        return activities_question(t), activities_buttons(t, checkin)
    if checkin.step is CheckinStep.HELP:
        return help_question(t), help_buttons(t, checkin.id)
    return mood_question(t), mood_buttons(t, checkin.id)


def weekday_buttons(t: Translator) -> Keyboard:
    rows = [[Button(t.weekday_name(day).capitalize(), pack(FLOW, "day", day))] for day in range(7)]
    rows.append([Button(t("Keep it as it is"), pack(FLOW, "keep"))])
    return rows


def time_buttons(weekday: int) -> Keyboard:
    cells = [Button(f"{at:%H:%M}", pack(FLOW, "time", weekday, f"{at:%H%M}")) for at in TIMES]
    return [cells[:3], cells[3:]]


# Answering a check-in


async def _open_checkin(
    turn: Turn, checkin_id: int | None, step: CheckinStep | None
) -> Checkin | None:
    """The check-in a button belongs to, if it is this participant's, open, and at `step`
    (any step for None); otherwise the presser is told why and nothing changes."""
    assert turn.participant is not None
    checkin = await domain.own_checkin(turn.uow, turn.participant.id, checkin_id)
    if checkin is None:
        await stale_button(turn)
        return None
    if checkin.status is not CheckinStatus.OPEN:
        log.info(
            "update=%s participant=%s pressed closed checkin=%s",
            turn.update_id,
            turn.participant.public_id,
            checkin.id,
        )
        turn.answer(turn.t("This check-in has closed. Thank you anyway!"))
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        return None
    if step is not None and checkin.step is not step:
        await stale_button(turn)
        return None
    return checkin


async def _close_message(turn: Turn, text: str) -> None:
    """Show what was answered in place of the buttons that were pressed."""
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, text)


async def answer_mood(turn: Turn, checkin_id: int | None, mood: int | None) -> None:
    _ = turn.t
    checkin = await _open_checkin(turn, checkin_id, CheckinStep.MOOD)
    if checkin is None:
        return
    if mood not in domain.MOODS:
        await stale_button(turn)
        return
    assert mood is not None and turn.participant is not None
    flag = await domain.answer_mood(turn.uow, checkin, mood, turn.clock.now())
    await turn.set_state(FLOW, ACTIVITIES, {"checkin": checkin.id})
    await _close_message(turn, f"{mood_question(_)}\n{face(mood, _)}")
    if mood in domain.LOWEST_MOODS:
        await turn.reply(_("Thank you for telling me. I am sorry the week has been hard."))
    await turn.reply(activities_question(_), activities_buttons(_, checkin))
    if flag is not None:
        await tell_mentor_of_flag(turn.uow, turn.deps, turn.participant, flag.id, flag.kind)


async def toggle_activity(turn: Turn, checkin_id: int | None, activity: str | None) -> None:
    checkin = await _open_checkin(turn, checkin_id, CheckinStep.ACTIVITIES)
    if checkin is None:
        return
    if activity not in domain.ACTIVITIES:
        await stale_button(turn)
        return
    assert activity is not None
    domain.toggle_activity(checkin, activity)
    buttons = activities_buttons(turn.t, checkin)
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, activities_question(turn.t), buttons)
    else:
        await turn.reply(activities_question(turn.t), buttons)


async def finish_activities(turn: Turn, checkin_id: int | None) -> None:
    _ = turn.t
    checkin = await _open_checkin(turn, checkin_id, CheckinStep.ACTIVITIES)
    if checkin is None:
        return
    assert turn.participant is not None
    steps = await domain.finish_activities(
        turn.uow, checkin, turn.clock.now(), turn.deps.settings.zone
    )
    await turn.set_state(FLOW, HELP, {"checkin": checkin.id})
    await _close_message(turn, f"{activities_question(_)}\n✓ {chosen_activities(_, checkin)}")
    for step in steps:
        log.info(
            "update=%s participant=%s step=%s from checkin=%s",
            turn.update_id,
            turn.participant.public_id,
            step.kind,
            checkin.id,
        )
        await turn.reply(
            _("That is a step forward: {step}. Well done!").format(step=_(STEP_LABELS[step.kind]))
        )
    await turn.reply(help_question(_), help_buttons(_, checkin.id))


async def answer_help(turn: Turn, checkin_id: int | None, answer: str | None) -> None:
    _ = turn.t
    checkin = await _open_checkin(turn, checkin_id, CheckinStep.HELP)
    if checkin is None:
        return
    if answer not in ("yes", "no"):
        await stale_button(turn)
        return
    participant = turn.participant
    assert participant is not None
    wants_help = answer == "yes"
    domain.answer_help(checkin, wants_help, turn.clock.now())
    if turn.step is not None and turn.step[0] == FLOW:
        await turn.clear_state()
    chosen = _("Yes, I would like help") if wants_help else _("No, thank you")
    await _close_message(turn, f"{help_question(_)}\n✓ {chosen}")
    if not wants_help:
        schedule = await domain.checkin_schedule(
            turn.uow, participant, turn.clock.now(), turn.deps.settings.zone, _policy(turn.deps)
        )
        await turn.reply(
            _("Thank you for your answers! Your next check-in is on {date}.").format(
                date=when(schedule.next_due_at, _)
            )
        )
        await plan.ask_due_step(turn)  # "Did you ...?" about a step of the plan that is due
        return
    log.info(
        "update=%s participant=%s asked for help in checkin=%s",
        turn.update_id,
        participant.public_id,
        checkin.id,
    )
    help_entry = turn.deps.registry.help_entry
    if help_entry is not None:
        await turn.reply(_("Thank you for your answers!"))
        await help_entry(turn)
        return
    told = await tell_mentors(
        turn.uow,
        turn.deps,
        participant,
        lambda t: t(
            "{name} ({id}) asked for help in the check-in. Please get in touch with {name}. "
            "More: /participant {id}"
        ).format(name=short_name(participant.display_name), id=participant.public_id),
        key=f"checkin-help:{checkin.id}",
        or_coordinators=True,
    )
    if told and participant.mentor_id is not None:
        await turn.reply(
            _("Thank you. I have told your mentor, who will get in touch with you soon.")
        )
    elif told:
        await turn.reply(
            _("Thank you. I have told the project staff, who will get in touch with you soon.")
        )
    else:
        await turn.reply(
            _(
                "Thank you. You do not have a mentor yet, so please tell the project staff at "
                "your next meeting. If you are in danger right now, call 112."
            )
        )


async def tell_mentor_of_flag(
    uow: UnitOfWork, deps: Deps, participant: Participant, flag_id: int, kind: FlagKind
) -> None:
    name = short_name(participant.display_name)

    def render(t: Translator) -> str:
        if kind is FlagKind.LOW_MOOD:
            text = t(
                "{name} ({id}) has answered that the week was hard, two check-ins in a row. "
                "Please get in touch. More: /participant {id}"
            )
        else:
            text = t(
                "{name} ({id}) has not answered the last two check-ins. "
                "Please get in touch. More: /participant {id}"
            )
        return text.format(name=name, id=participant.public_id)

    await tell_mentors(uow, deps, participant, render, key=f"flag:{flag_id}")


# Choosing the day and time


def _policy(deps: Deps) -> domain.CheckinPolicy:
    return domain.CheckinPolicy.from_settings(deps.settings)


async def show_schedule(turn: Turn) -> None:
    _ = turn.t
    participant = turn.participant
    assert participant is not None
    now = turn.clock.now()
    schedule = await domain.checkin_schedule(
        turn.uow, participant, now, turn.deps.settings.zone, _policy(turn.deps)
    )
    choice = domain.choice_of(schedule.spec)
    lines = [
        _("Your check-in comes {schedule}.").format(schedule=schedule_text(choice, _)),
    ]
    if schedule.next_due_at is None or not domain.reachable_now(participant):
        lines.append(
            _("Check-ins are paused for you at the moment. Your mentor can tell you more.")
        )
    else:
        lines.append(_("The next one is on {date}.").format(date=when(schedule.next_due_at, _)))
    buttons: list[list[Button]] = [[Button(_("Change day and time"), pack(FLOW, "sched"))]]
    for checkin in await turn.uow.repository(Checkins).open_of(participant.id):
        buttons.insert(0, [Button(_("Answer the open check-in"), pack(FLOW, "resume", checkin.id))])
    await turn.reply("\n".join(lines), buttons)


async def ask_day(turn: Turn) -> None:
    await turn.set_state(FLOW, PICK_DAY)
    await turn.reply(turn.t("Which day suits you best?"), weekday_buttons(turn.t))


async def ask_time(turn: Turn, weekday: int) -> None:
    await turn.set_state(FLOW, PICK_TIME, {"weekday": weekday})
    await turn.reply(
        turn.t("What time on {weekday}?").format(weekday=turn.t.weekday_name(weekday)),
        time_buttons(weekday),
    )


async def choose_day(turn: Turn, weekday: int | None) -> None:
    if turn.step != (FLOW, PICK_DAY) or weekday is None or not 0 <= weekday <= 6:
        await stale_button(turn)
        return
    await _close_message(turn, "✓ " + turn.t.weekday_name(weekday).capitalize())
    await ask_time(turn, weekday)


async def choose_time(turn: Turn, weekday: int | None, hhmm: str | None) -> None:
    _ = turn.t
    chosen = next((at for at in TIMES if f"{at:%H%M}" == hhmm), None)
    stored = turn.conversation.data.get("weekday") if turn.conversation else None
    if turn.step != (FLOW, PICK_TIME) or chosen is None or weekday is None or weekday != stored:
        await stale_button(turn)
        return
    participant = turn.participant
    assert participant is not None
    schedule = await domain.change_day_and_time(
        turn.uow,
        participant,
        weekday,
        chosen,
        turn.clock.now(),
        turn.deps.settings.zone,
        _policy(turn.deps),
    )
    await turn.clear_state()
    log.info("update=%s participant=%s changed checkin time", turn.update_id, participant.public_id)
    await _close_message(turn, f"✓ {chosen:%H:%M}")
    await turn.reply(
        _("Done. Your check-in now comes {schedule}. The next one is on {date}.").format(
            schedule=schedule_text(domain.choice_of(schedule.spec), _),
            date=when(schedule.next_due_at, _),
        )
    )


async def keep_schedule(turn: Turn) -> None:
    if turn.step not in ((FLOW, PICK_DAY), (FLOW, PICK_TIME)):
        await stale_button(turn)
        return
    await turn.clear_state()
    await _close_message(turn, turn.t("Okay, nothing has changed."))


async def resume(turn: Turn, checkin_id: int | None) -> None:
    checkin = await _open_checkin(turn, checkin_id, None)
    if checkin is not None:
        await ask_again(turn, checkin)


async def ask_again(turn: Turn, checkin: Checkin) -> None:
    await turn.set_state(FLOW, checkin.step.value, {"checkin": checkin.id})
    text, buttons = question_for(turn.t, checkin)
    await turn.reply(text, buttons)


# Handlers


@turn_handler
async def on_checkin_command(turn: Turn, update: Update) -> None:
    role = role_of(turn)
    if role is Role.MENTOR:
        await turn.reply(turn.t("Check-ins are for participants. To see yours, use /caseload."))
        return
    if role is not Role.PARTICIPANT or not in_contact(turn):
        await show_menu(turn)
        return
    await show_schedule(turn)


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None or role_of(turn) is not Role.PARTICIPANT:
        await stale_button(turn)
        return
    if callback.is_("mood", 2):
        await answer_mood(turn, callback.int_arg(0), callback.int_arg(1))
    elif callback.is_("act", 2):
        await toggle_activity(turn, callback.int_arg(0), callback.arg(1))
    elif callback.is_("done", 1):
        await finish_activities(turn, callback.int_arg(0))
    elif callback.is_("help", 2):
        await answer_help(turn, callback.int_arg(0), callback.arg(1))
    elif callback.is_("resume", 1):
        await resume(turn, callback.int_arg(0))
    elif callback.is_("sched", 0):
        await ask_day(turn)
    elif callback.is_("day", 1):
        await choose_day(turn, callback.int_arg(0))
    elif callback.is_("time", 2):
        await choose_time(turn, callback.int_arg(0), callback.arg(1))
    elif callback.is_("keep", 0):
        await keep_schedule(turn)
    else:
        await stale_button(turn)


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    """Text or media while a check-in or the day and time picker waits for a button."""
    _ = turn.t
    step = turn.step
    data = turn.conversation.data if turn.conversation else {}
    if step == (FLOW, PICK_DAY):
        await turn.reply(_("Please choose one of the buttons."))
        await ask_day(turn)
        return
    if step == (FLOW, PICK_TIME) and isinstance(data.get("weekday"), int):
        await turn.reply(_("Please choose one of the buttons."))
        await ask_time(turn, int(data["weekday"]))
        return
    participant = turn.participant
    checkin = (
        await domain.own_checkin(turn.uow, participant.id, data.get("checkin"))
        if participant is not None and isinstance(data.get("checkin"), int)
        else None
    )
    if checkin is None or checkin.status is not CheckinStatus.OPEN or participant is None:
        # The check-in has closed since: this is an ordinary message.
        await turn.clear_state()
        registry = turn.deps.registry
        if registry.fallback is not None:
            await registry.fallback(turn, message)
        else:
            await default_fallback(turn, message.text is not None)
        return
    if message.text is not None and turn.deps.registry.fallback is not None:
        await turn.deps.registry.fallback(turn, message)
        return
    if message.text is not None and message.text.strip():
        domain.add_note(checkin, message.text.strip())
        log.info(
            "update=%s participant=%s note on checkin=%s",
            turn.update_id,
            participant.public_id,
            checkin.id,
        )
        text = message.text.strip()
        await tell_mentors(
            turn.uow,
            turn.deps,
            participant,
            lambda t: (
                t("{name} ({id}) wrote with the check-in:").format(
                    name=short_name(participant.display_name), id=participant.public_id
                )
                + "\n\n"
                + text
            ),
            key=f"checkin-note:{checkin.id}:{turn.update_id}",
        )
        await turn.reply(_("Thank you. I have saved this with your check-in for your mentor."))
    else:
        await turn.reply(_("Please choose one of the buttons."))
    await ask_again(turn, checkin)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu(
        [
            MenuItem(
                N_("Check-in day and time"),
                pack(FLOW, "sched"),
                PARTICIPANTS,
                order=30,
                visible=in_contact,  # not after the contact has ended
            )
        ]
    )
    registry.add_commands(
        [Command("checkin", N_("your check-in: day and time"), PARTICIPANTS, order=20)]
    )
    return [
        CommandHandler("checkin", on_checkin_command),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]


# The periodic job


class CheckinJob:
    """Every tick: schedules for participants who have none, expiry, due check-ins, nudges.

    Each batch is one transaction read by index; the only thing held between ticks is the
    highest participant id already given a schedule (one number, not one per person).
    """

    def __init__(self) -> None:
        self.scheduled_up_to = 0

    async def __call__(self, deps: Deps) -> int:
        policy = _policy(deps)
        skip_locked = deps.database.is_postgres
        zone = deps.settings.zone
        done = 0
        for _ in range(MAX_BATCHES_PER_TICK):
            async with deps.unit_of_work() as uow:
                made, self.scheduled_up_to, more = await domain.schedule_missing(
                    uow,
                    after_id=self.scheduled_up_to,
                    now=deps.clock.now(),
                    zone=zone,
                    policy=policy,
                )
                await uow.commit()
            done += made
            if not more:
                break
        for _ in range(MAX_BATCHES_PER_TICK):
            async with deps.unit_of_work() as uow:
                expired = await domain.expire_due(
                    uow, deps.clock.now(), policy, skip_locked=skip_locked
                )
                for raised in expired.raised:
                    await tell_mentor_of_flag(
                        uow, deps, raised.participant, raised.flag.id, raised.flag.kind
                    )
                await uow.commit()
            done += len(expired.expired)
            if len(expired.expired) < policy.batch_size:
                break
        for _ in range(MAX_BATCHES_PER_TICK):
            async with deps.unit_of_work() as uow:
                due = await domain.open_due_checkins(
                    uow, deps.clock.now(), zone, policy, skip_locked=skip_locked
                )
                await _queue_opened(uow, deps, due.opened)
                await uow.commit()
            done += len(due.opened)
            if due.schedules_read < policy.batch_size:
                break
        for _ in range(MAX_BATCHES_PER_TICK):
            async with deps.unit_of_work() as uow:
                nudges = await domain.due_nudges(
                    uow, deps.clock.now(), policy, skip_locked=skip_locked
                )
                await _queue_nudges(uow, deps, nudges)
                await uow.commit()
            done += len(nudges)
            if len(nudges) < policy.batch_size:
                break
        return done


async def _queue_opened(uow: UnitOfWork, deps: Deps, opened: list[domain.Opened]) -> None:
    """The first message of each new check-in, and the state that routes replies to it
    (for participants not busy in another flow; an old check-in's pointer is replaced)."""
    messages: list[OutgoingText] = []
    for item in opened:
        participant, checkin = item.participant, item.checkin
        assert participant.chat_id is not None
        t = deps.translator(participant.locale)
        opening = t("Time for your check-in.")
        messages.append(
            OutgoingText(
                participant.chat_id,
                f"{greeting(participant.display_name, t)} {opening}\n\n{mood_question(t)}",
                key=f"checkin:{participant.id}:{checkin.due_at:%Y%m%dT%H%M}",
                kind=OutboxKind.CHECKIN,
                buttons=mood_buttons(t, checkin.id),
                participant_id=participant.id,
            )
        )
    await Notifier(uow, deps.clock).send_texts(messages)
    await uow.repository(IdleConversations).point_to(
        [
            (item.participant.telegram_user_id, {"checkin": item.checkin.id})
            for item in opened
            if item.participant.telegram_user_id is not None
        ],
        flow=FLOW,
        step=MOOD,
        replaceable_steps=(MOOD, ACTIVITIES, HELP),
        now=deps.clock.now(),
    )


async def _queue_nudges(uow: UnitOfWork, deps: Deps, nudges: list[domain.Nudge]) -> None:
    messages: list[OutgoingText] = []
    for nudge in nudges:
        participant, checkin = nudge.participant, nudge.checkin
        assert participant.chat_id is not None
        t = deps.translator(participant.locale)
        text, buttons = question_for(t, checkin)
        reminder = t("A gentle reminder: your check-in is still open. It takes a minute.")
        messages.append(
            OutgoingText(
                participant.chat_id,
                f"{reminder}\n\n{text}",
                key=f"checkin-nudge:{checkin.id}",
                kind=OutboxKind.CHECKIN,
                buttons=buttons,
                participant_id=participant.id,
            )
        )
    await Notifier(uow, deps.clock).send_texts(messages)
