"""The action plan in Telegram: `/plan` for the participant, `/plan P7K3Q` for their mentor.

The participant sees their plan short, next step first. The mentor sees the whole plan
with buttons: add a goal, add a step (which goal, who does it, by when, then the words),
open a step to mark it done, drop it, or change what, who or when. Buttons carry ids,
and every press is checked again: the mentor may act on this participant (their own,
or anyone's for a coordinator), the item belongs to that participant, and the plan can
still be changed (not before approval, not after the contact ended).

States (conversation.flow == FLOW), with the ids they work on in the conversation data:
    GOAL_TEXT   {"pid"}                           the words of a new goal
    STEP_GOAL   {"pid"}                           which goal a new step is for
    STEP_WHO    {"pid", "goal"}                   who does the new step
    STEP_DUE    {"pid", "goal", "owner"}          by when (a button or a typed date)
    STEP_TEXT   {"pid", "goal", "owner", "due"}   the words of the new step
    EDIT_TEXT   {"step"}, EDIT_WHO {"step"}, EDIT_DUE {"step"}, EDIT_GOAL {"goal"}
Typed words go straight to the plan (sealed); the conversation row holds only ids.

The weekly check-in asks about a due step with `ask_due_step(turn)`; the answer comes
back here ("plan:ans:...").
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import plan as domain
from bot.domain.lifecycle import ChangedBy, may_act_on
from bot.domain.plan import DateProblem, PlanData, StepAnswer, StepData
from bot.domain.signup import InputProblem
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard
from bot.turn import Turn, turn_handler
from storage.models import (
    Mentor,
    OutboxKind,
    Participant,
    ParticipantStatus,
    PlanGoal,
    PlanItemStatus,
    PlanStep,
    StepOwner,
)

from .common import show_menu, stale_button
from .onboarding import start_argument
from .registry import MENTORS, PARTICIPANTS, Command, FlowRegistry, MenuItem, Role, role_of

log = logging.getLogger(__name__)

FLOW = "plan"
GOAL_TEXT = "goal_text"
STEP_GOAL = "step_goal"
STEP_WHO = "step_who"
STEP_DUE = "step_due"
STEP_TEXT = "step_text"
EDIT_TEXT = "edit_text"
EDIT_WHO = "edit_who"
EDIT_DUE = "edit_due"
EDIT_GOAL = "edit_goal"
TYPED = (GOAL_TEXT, STEP_DUE, STEP_TEXT, EDIT_TEXT, EDIT_DUE, EDIT_GOAL)
DUE_CHOICES = (7, 14, 30)
LABEL_CHARS = 32

DATE_PROBLEMS = {
    DateProblem.UNREADABLE: N_("I could not read that date. Write it like 15/3 or 2026-03-15."),
    DateProblem.PAST: N_("That day has passed. Choose a later one."),
    DateProblem.TOO_FAR: N_("That is too far ahead. Choose a day within three years."),
}


def short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def owner_label(t: Translator, owner: StepOwner, *, for_mentor: bool) -> str:
    labels = domain.OWNER_LABELS_FOR_MENTOR if for_mentor else domain.OWNER_LABELS
    return t(labels[owner])


def by_when(t: Translator, due_on: date | None) -> str:
    return t("by {date}").format(date=t.date(due_on)) if due_on else t("no date")


def today(turn: Turn) -> date:
    return domain.local_today(turn.clock.now(), turn.deps.settings.zone)


# The participant's view


def participant_view(t: Translator, plan: PlanData) -> str:
    """The participant's plan, short: the next step first, then the rest by goal."""
    _ = t
    if plan.empty:
        return _("You don't have a plan yet. Your mentor writes it together with you.")
    lines = [_("Your plan")]
    upcoming = plan.next_step
    if upcoming is not None:
        lines += [
            "",
            _("Next step: {step}").format(step=upcoming.text),
            f"{owner_label(t, upcoming.owner, for_mentor=False)} · {by_when(t, upcoming.due_on)}",
        ]
    open_ids = {step.id for step in plan.open_steps}
    sections: list[tuple[str | None, list[StepData]]] = [
        (goal.text, goal.steps) for goal in plan.goals if goal.status is PlanItemStatus.OPEN
    ]
    sections.append((None, plan.loose_steps))
    for title, steps in sections:
        rest = [s for s in steps if s.id in open_ids and (upcoming is None or s.id != upcoming.id)]
        if title is None and not rest:
            continue
        lines.append("")
        lines.append("🎯 " + title if title else _("Other steps:"))
        for step in sorted(rest, key=lambda s: (s.due_on is None, s.due_on or date.max, s.id)):
            who = owner_label(t, step.owner, for_mentor=False)
            lines.append(f"• {step.text} – {who}, {by_when(t, step.due_on)}")
    done = plan.done_count
    if done:
        lines += [
            "",
            t.ngettext(
                "You have done {count} step. Well done!",
                "You have done {count} steps. Well done!",
                done,
            ).format(count=done),
        ]
    return "\n".join(lines)


async def show_own_plan(turn: Turn) -> None:
    participant = turn.participant
    if participant is None or role_of(turn) is not Role.PARTICIPANT:
        if role_of(turn) is Role.APPLICANT:
            await turn.reply(
                turn.t("The plan is made with your mentor, once you have a place in the project.")
            )
        else:
            await show_menu(turn)
        return
    await turn.reply(participant_view(turn.t, await domain.plan_of(turn.uow, participant.id)))


# The mentor's view


def name_of(participant: Participant) -> str:
    return (
        f"{participant.public_id} ({participant.display_name})"
        if participant.display_name
        else participant.public_id
    )


def mentor_view(turn: Turn, participant: Participant, plan: PlanData) -> tuple[str, Keyboard]:
    _ = turn.t
    t = turn.t
    lines = [_("Plan for {name}").format(name=name_of(participant))]
    buttons: list[list[Button]] = []
    if plan.empty:
        lines += ["", _("No goals or steps yet.")]
    number = 0

    def step_line(step: StepData) -> str:
        nonlocal number
        if step.status is PlanItemStatus.OPEN:
            number += 1
            buttons.append([Button(f"{number}. {short(step.text)}", pack(FLOW, "step", step.id))])
            who = owner_label(t, step.owner, for_mentor=True)
            return f"  {number}. {step.text} – {who}, {by_when(t, step.due_on)}"
        mark = "✓" if step.status is PlanItemStatus.DONE else "✗"
        return f"  {mark} {step.text}"

    for goal in plan.goals:
        mark = {PlanItemStatus.OPEN: "🎯", PlanItemStatus.DONE: "✓", PlanItemStatus.DROPPED: "✗"}
        lines += ["", f"{mark[goal.status]} {goal.text}"]
        if goal.status is PlanItemStatus.OPEN:
            buttons.append([Button("🎯 " + short(goal.text), pack(FLOW, "goal", goal.id))])
        lines += [step_line(step) for step in goal.steps]
    if plan.loose_steps:
        lines += ["", _("Steps without a goal:")]
        lines += [step_line(step) for step in plan.loose_steps]
    if domain.editable(participant):
        buttons.append(
            [
                Button(_("+ Goal"), pack(FLOW, "addgoal", participant.id)),
                Button(_("+ Step"), pack(FLOW, "addstep", participant.id)),
            ]
        )
        if not plan.empty:
            buttons.append(
                [Button(_("Send the plan to the participant"), pack(FLOW, "send", participant.id))]
            )
    else:
        lines += ["", _("The plan can no longer be changed: the contact has ended.")]
    return "\n".join(lines), buttons


async def show_plan_to_mentor(
    turn: Turn, participant: Participant, *, in_place: bool = False, intro: str | None = None
) -> None:
    text, buttons = mentor_view(turn, participant, await domain.plan_of(turn.uow, participant.id))
    if intro:
        text = intro + "\n\n" + text
    if in_place and turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, text, buttons)
    else:
        await turn.reply(text, buttons)


def not_yours(turn: Turn, public_id: str) -> str:
    return turn.t("I can't find a participant {id} among yours.").format(id=public_id)


async def mentor_plan_command(turn: Turn, mentor: Mentor, argument: str) -> None:
    _ = turn.t
    if not argument:
        own = await turn.uow.participants.of_mentor(
            mentor.id, [ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP]
        )
        if not own:
            await turn.reply(
                _("You have no participants yet. Write /plan and an id, for example /plan P7K3Q.")
            )
            return
        await turn.reply(
            _("Whose plan?"),
            [[Button(name_of(p), pack(FLOW, "open", p.id))] for p in own[:40]],
        )
        return
    public_id = argument.split()[0]
    participant = await domain.participant_for_mentor(turn.uow, mentor, public_id)
    if participant is None:
        log.info("update=%s mentor=%s plan refused: not theirs", turn.update_id, mentor.id)
        await turn.reply(not_yours(turn, public_id[:16]))
        return
    if participant.status is ParticipantStatus.APPLIED:
        await turn.reply(
            _("{id} is still waiting for an answer: see /pending.").format(id=public_id)
        )
        return
    await show_plan_to_mentor(turn, participant)


@turn_handler
async def on_plan(turn: Turn, update: Update) -> None:
    if turn.step is not None and turn.step[0] == FLOW:
        await turn.clear_state()  # /plan again leaves a half-done add or change
    if turn.mentor is not None:
        await mentor_plan_command(turn, turn.mentor, start_argument(update.effective_message))
        return
    await show_own_plan(turn)


# Buttons


def who_buttons(turn: Turn) -> Keyboard:
    owners = list(StepOwner)
    buttons = [
        Button(owner_label(turn.t, owner, for_mentor=True), pack(FLOW, "who", owner.value))
        for owner in owners
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([Button(turn.t("Cancel"), pack(FLOW, "cancel"))])
    return rows


def due_buttons(turn: Turn) -> Keyboard:
    _ = turn.t
    labels = {7: _("In a week"), 14: _("In two weeks"), 30: _("In a month")}
    return [
        [Button(labels[days], pack(FLOW, "due", days)) for days in DUE_CHOICES],
        [Button(_("No date"), pack(FLOW, "due", 0)), Button(_("Cancel"), pack(FLOW, "cancel"))],
    ]


def cancel_button(turn: Turn) -> Keyboard:
    return [[Button(turn.t("Cancel"), pack(FLOW, "cancel"))]]


def step_card(turn: Turn, participant: Participant, step: PlanStep) -> tuple[str, Keyboard]:
    _ = turn.t
    status = {
        PlanItemStatus.OPEN: _("open"),
        PlanItemStatus.DONE: _("done"),
        PlanItemStatus.DROPPED: _("dropped"),
    }[step.status]
    text = "\n".join(
        [
            name_of(participant),
            _("Step: {text}").format(text=step.text),
            _("Who: {who}").format(who=owner_label(turn.t, step.owner, for_mentor=True)),
            _("When: {when}").format(when=by_when(turn.t, step.due_on)),
            _("Status: {status}").format(status=status),
        ]
    )
    back = [Button(_("Back to the plan"), pack(FLOW, "back", participant.id))]
    if step.status is not PlanItemStatus.OPEN:
        return text, [[Button(_("Open it again"), pack(FLOW, "reopen", step.id))], back]
    return text, [
        [
            Button(_("Done ✓"), pack(FLOW, "done", step.id)),
            Button(_("Drop it"), pack(FLOW, "drop", step.id)),
        ],
        [
            Button(_("Change the words"), pack(FLOW, "etext", step.id)),
            Button(_("Change who"), pack(FLOW, "ewho", step.id)),
        ],
        [Button(_("Change the date"), pack(FLOW, "edue", step.id))],
        back,
    ]


def goal_card(turn: Turn, participant: Participant, goal: PlanGoal) -> tuple[str, Keyboard]:
    _ = turn.t
    text = "\n".join([name_of(participant), _("Goal: {text}").format(text=goal.text)])
    return text, [
        [
            Button(_("Reached ✓"), pack(FLOW, "greach", goal.id)),
            Button(_("Drop it"), pack(FLOW, "gdrop", goal.id)),
        ],
        [Button(_("Change the words"), pack(FLOW, "egoal", goal.id))],
        [Button(_("Back to the plan"), pack(FLOW, "back", participant.id))],
    ]


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None:
        await stale_button(turn)
        return
    if callback.is_("mine", 0):
        turn.answer()
        await show_own_plan(turn)
        return
    if callback.is_("ans", 2):
        await answer_due_step(turn, callback.int_arg(0), callback.arg(1))
        return
    if turn.mentor is None:
        log.info(
            "update=%s user=%s plan button refused", turn.update_id, turn.actor.telegram_user_id
        )
        await stale_button(turn)
        return
    await mentor_button(turn, turn.mentor)


async def mentor_button(turn: Turn, mentor: Mentor) -> None:
    callback = turn.callback
    assert callback is not None
    action, number = callback.action, callback.int_arg(0)
    if action == "cancel" and callback.is_("cancel", 0):
        await cancel(turn)
        return
    if action in ("who", "due") and callback.is_(action, 1):
        await choice(turn, mentor, action, callback.arg(0) or "")
        return
    if number is None:
        await stale_button(turn)
        return
    if action in ("open", "back", "addgoal", "addstep", "send", "sgoal") and (
        callback.is_(action, 1) or (action == "sgoal" and callback.is_(action, 2))
    ):
        participant = await turn.uow.participants.get(number)
        if participant is None or not may_act_on(mentor, participant):
            await refused(turn, mentor)
            return
        await participant_action(turn, mentor, participant, action, callback.int_arg(1))
    elif action in ("step", "done", "drop", "reopen", "etext", "ewho", "edue") and callback.is_(
        action, 1
    ):
        mine = await domain.step_for_mentor(turn.uow, mentor, number)
        if mine is None or mine.step is None:
            await refused(turn, mentor)
            return
        await step_action(turn, mentor, mine.participant, mine.step, action)
    elif action in ("goal", "greach", "gdrop", "egoal") and callback.is_(action, 1):
        mine = await domain.goal_for_mentor(turn.uow, mentor, number)
        if mine is None or mine.goal is None:
            await refused(turn, mentor)
            return
        await goal_action(turn, mentor, mine.participant, mine.goal, action)
    else:
        await stale_button(turn)


async def refused(turn: Turn, mentor: Mentor) -> None:
    log.info("update=%s mentor=%s plan item refused: not theirs", turn.update_id, mentor.id)
    await stale_button(turn)


async def participant_action(
    turn: Turn, mentor: Mentor, participant: Participant, action: str, goal_id: int | None
) -> None:
    _ = turn.t
    if action == "open":
        turn.answer()
        await show_plan_to_mentor(turn, participant)
        return
    if action == "back":
        await turn.clear_state()
        await show_plan_to_mentor(turn, participant, in_place=True)
        return
    if not domain.editable(participant):
        turn.answer(_("The plan can no longer be changed: the contact has ended."), alert=True)
        return
    if action == "send":
        await send_plan(turn, mentor, participant)
    elif action == "addgoal":
        await turn.set_state(FLOW, GOAL_TEXT, {"pid": participant.id})
        await turn.reply(
            _("Write the goal in a few words, for example: A job in health care."),
            cancel_button(turn),
        )
    elif action == "addstep":
        plan = await domain.plan_of(turn.uow, participant.id)
        goals = [goal for goal in plan.goals if goal.status is PlanItemStatus.OPEN]
        if not goals:
            await ask_who(turn, {"pid": participant.id, "goal": None})
            return
        await turn.set_state(FLOW, STEP_GOAL, {"pid": participant.id})
        await turn.reply(
            _("Which goal is the step for?"),
            [
                *[
                    [Button(short(g.text), pack(FLOW, "sgoal", participant.id, g.id))]
                    for g in goals
                ],
                [Button(_("No goal"), pack(FLOW, "sgoal", participant.id, 0))],
                [Button(_("Cancel"), pack(FLOW, "cancel"))],
            ],
        )
    elif action == "sgoal":
        step = turn.step
        data = turn.conversation.data if turn.conversation else {}
        if step != (FLOW, STEP_GOAL) or data.get("pid") != participant.id:
            await stale_button(turn)
            return
        plan = await domain.plan_of(turn.uow, participant.id)
        open_goals = {g.id for g in plan.goals if g.status is PlanItemStatus.OPEN}
        if goal_id not in open_goals and goal_id != 0:
            await stale_button(turn)
            return
        await ask_who(turn, {"pid": participant.id, "goal": goal_id or None})


async def ask_who(turn: Turn, data: dict[str, Any]) -> None:
    await turn.set_state(FLOW, STEP_WHO, data)
    await turn.reply(turn.t("Who does the step?"), who_buttons(turn))


async def step_action(
    turn: Turn, mentor: Mentor, participant: Participant, step: PlanStep, action: str
) -> None:
    _ = turn.t
    if action == "step":
        turn.answer()
        text, buttons = step_card(turn, participant, step)
        if turn.callback_message_id is not None:
            await turn.edit(turn.callback_message_id, text, buttons)
        else:
            await turn.reply(text, buttons)
        return
    if not domain.editable(participant):
        turn.answer(_("The plan can no longer be changed: the contact has ended."), alert=True)
        return
    by, now = ChangedBy.mentor(mentor), turn.clock.now()
    if action in ("done", "drop"):
        if step.status is not PlanItemStatus.OPEN:
            await stale_button(turn)
            return
        status = PlanItemStatus.DONE if action == "done" else PlanItemStatus.DROPPED
        await domain.close_step(turn.uow, step, status, by=by, now=now)
        log.info("update=%s step=%s closed by mentor=%s", turn.update_id, step.id, mentor.id)
        await show_card(turn, participant, step)
    elif action == "reopen":
        if step.status is PlanItemStatus.OPEN:
            await stale_button(turn)
            return
        await domain.reopen_step(turn.uow, step, by=by, now=now)
        await show_card(turn, participant, step)
    elif action == "etext":
        await turn.set_state(FLOW, EDIT_TEXT, {"step": step.id})
        await turn.reply(_("Write the new words for the step."), cancel_button(turn))
    elif action == "ewho":
        await turn.set_state(FLOW, EDIT_WHO, {"step": step.id})
        await turn.reply(_("Who does the step?"), who_buttons(turn))
    elif action == "edue":
        await turn.set_state(FLOW, EDIT_DUE, {"step": step.id})
        await turn.reply(_("By when? Choose, or write a date like 15/3."), due_buttons(turn))


async def show_card(turn: Turn, participant: Participant, step: PlanStep) -> None:
    text, buttons = step_card(turn, participant, step)
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, text, buttons)
    else:
        await turn.reply(text, buttons)


async def goal_action(
    turn: Turn, mentor: Mentor, participant: Participant, goal: PlanGoal, action: str
) -> None:
    _ = turn.t
    if action == "goal":
        turn.answer()
        text, buttons = goal_card(turn, participant, goal)
        if turn.callback_message_id is not None:
            await turn.edit(turn.callback_message_id, text, buttons)
        return
    if not domain.editable(participant) or goal.status is not PlanItemStatus.OPEN:
        await stale_button(turn)
        return
    if action == "egoal":
        await turn.set_state(FLOW, EDIT_GOAL, {"goal": goal.id})
        await turn.reply(_("Write the new words for the goal."), cancel_button(turn))
        return
    status = PlanItemStatus.DONE if action == "greach" else PlanItemStatus.DROPPED
    await domain.close_goal(
        turn.uow, goal, status, by=ChangedBy.mentor(mentor), now=turn.clock.now()
    )
    await show_plan_to_mentor(turn, participant, in_place=True)


async def choice(turn: Turn, mentor: Mentor, action: str, value: str) -> None:
    """A who or when button, for the step being added or changed."""
    step = turn.step
    data = dict(turn.conversation.data) if turn.conversation else {}
    if step is None or step[0] != FLOW:
        await stale_button(turn)
        return
    if action == "who" and value in set(StepOwner):
        owner = StepOwner(value)
        if step[1] == STEP_WHO:
            await _remove_buttons(turn)
            await ask_due(turn, {**data, "owner": owner.value})
            return
        if step[1] == EDIT_WHO:
            await change(turn, mentor, data, owner=owner)
            return
    if action == "due" and value.isdigit() and (int(value) in DUE_CHOICES or value == "0"):
        days = int(value)
        due = today(turn) + timedelta(days=days) if days else None
        if step[1] == STEP_DUE:
            await _remove_buttons(turn)
            await ask_text(turn, {**data, "due": due.isoformat() if due else None})
            return
        if step[1] == EDIT_DUE:
            await change(turn, mentor, data, due_on=due)
            return
    await stale_button(turn)


async def _remove_buttons(turn: Turn) -> None:
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)


async def ask_due(turn: Turn, data: dict[str, Any]) -> None:
    await turn.set_state(FLOW, STEP_DUE, data)
    await turn.reply(turn.t("By when? Choose, or write a date like 15/3."), due_buttons(turn))


async def ask_text(turn: Turn, data: dict[str, Any]) -> None:
    await turn.set_state(FLOW, STEP_TEXT, data)
    await turn.reply(
        turn.t("Write the step in a few words, for example: Book a time at the health centre."),
        cancel_button(turn),
    )


async def cancel(turn: Turn) -> None:
    step = turn.step
    if step is None or step[0] != FLOW:
        await stale_button(turn)
        return
    await turn.clear_state()
    await _remove_buttons(turn)
    await turn.reply(turn.t("Okay, nothing was changed."))


async def change(turn: Turn, mentor: Mentor, data: dict[str, Any], **fields: Any) -> None:
    """Change the step being edited (text=, owner= or due_on=); back to its card."""
    mine = await domain.step_for_mentor(turn.uow, mentor, int(data.get("step", 0)))
    await turn.clear_state()
    if mine is None or mine.step is None or not domain.editable(mine.participant):
        await stale_button(turn)
        return
    step = mine.step
    await domain.change_step(
        turn.uow, step, by=ChangedBy.mentor(mentor), now=turn.clock.now(), **fields
    )
    await _remove_buttons(turn)
    card_text, buttons = step_card(turn, mine.participant, step)
    await turn.reply("✓ " + turn.t("Changed.") + "\n\n" + card_text, buttons)


# Typed text from a mentor


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    step = turn.step
    mentor = turn.mentor
    if step is None or mentor is None:
        await turn.clear_state()
        await show_menu(turn)
        return
    _ = turn.t
    if step[1] not in TYPED:
        await turn.reply(_("Please choose one of the buttons."))
        return
    if message.text is None:
        await turn.reply(_("Please write it as text."))
        return
    data = dict(turn.conversation.data) if turn.conversation else {}
    if step[1] in (STEP_DUE, EDIT_DUE):
        parsed = domain.parse_due(message.text, today(turn))
        if isinstance(parsed, DateProblem):
            await turn.reply(_(DATE_PROBLEMS[parsed]))
            return
        if step[1] == STEP_DUE:
            await ask_text(turn, {**data, "due": parsed.isoformat()})
        else:
            await change(turn, mentor, data, due_on=parsed)
        return
    cleaned = domain.clean(message.text)
    if cleaned is InputProblem.TOO_LONG:
        await turn.reply(
            turn.t.ngettext(
                "Please keep it shorter, at most {count} character.",
                "Please keep it shorter, at most {count} characters.",
                domain.TEXT_MAX,
            ).format(count=domain.TEXT_MAX)
        )
        return
    if isinstance(cleaned, InputProblem):
        await turn.reply(_("Please write it with letters."))
        return
    if step[1] == EDIT_TEXT:
        await change(turn, mentor, data, text=cleaned)
    elif step[1] == EDIT_GOAL:
        await change_goal_text(turn, mentor, data, cleaned)
    else:
        await add_from_text(turn, mentor, step[1], data, cleaned)


async def change_goal_text(turn: Turn, mentor: Mentor, data: dict[str, Any], text: str) -> None:
    mine = await domain.goal_for_mentor(turn.uow, mentor, int(data.get("goal", 0)))
    await turn.clear_state()
    if mine is None or mine.goal is None or not domain.editable(mine.participant):
        await stale_button(turn)
        return
    await domain.change_goal(
        turn.uow, mine.goal, text, by=ChangedBy.mentor(mentor), now=turn.clock.now()
    )
    await show_plan_to_mentor(turn, mine.participant, intro="✓ " + turn.t("Changed."))


async def add_from_text(
    turn: Turn, mentor: Mentor, step: str, data: dict[str, Any], text: str
) -> None:
    participant = await turn.uow.participants.get(int(data.get("pid", 0)))
    await turn.clear_state()
    if (
        participant is None
        or not may_act_on(mentor, participant)
        or not domain.editable(participant)
    ):
        await stale_button(turn)
        return
    by, now = ChangedBy.mentor(mentor), turn.clock.now()
    if step == GOAL_TEXT:
        await domain.add_goal(turn.uow, participant, text, by=by, now=now)
        intro = turn.t("✓ Goal added.")
    else:
        goal_id = data.get("goal")
        plan = await domain.plan_of(turn.uow, participant.id)
        if goal_id is not None and goal_id not in {g.id for g in plan.goals}:
            goal_id = None
        due = data.get("due")
        await domain.add_step(
            turn.uow,
            participant,
            text,
            owner=StepOwner(data.get("owner", StepOwner.PARTICIPANT.value)),
            due_on=date.fromisoformat(due) if due else None,
            goal_id=goal_id,
            by=by,
            now=now,
        )
        intro = turn.t("✓ Step added.")
    log.info("update=%s participant=%s plan changed", turn.update_id, participant.public_id)
    await show_plan_to_mentor(turn, participant, intro=intro)


async def send_plan(turn: Turn, mentor: Mentor, participant: Participant) -> None:
    """The participant gets their plan as they would see it with /plan."""
    if participant.chat_id is None:
        await stale_button(turn)
        return
    t = turn.deps.translator(participant.locale)
    plan = await domain.plan_of(turn.uow, participant.id)
    view = participant_view(t, plan)
    await turn.notifier.send_text(
        participant.chat_id,
        t("Your mentor sent you your plan.") + "\n\n" + view,
        key=f"plan:sent:{turn.update_id}",
        kind=OutboxKind.NOTIFICATION,
        participant_id=participant.id,
    )
    turn.answer(turn.t("Sent."))


# The check-in's question about a due step


async def ask_due_step(turn: Turn) -> bool:
    """Ask about the participant's own step that is due, if there is one (the weekly
    check-in calls this at its end). Returns whether it asked."""
    participant = turn.participant
    if participant is None:
        return False
    step = await domain.due_plan_step(
        turn.uow, participant.id, turn.clock.now(), turn.deps.settings.zone
    )
    if step is None:
        return False
    domain.mark_asked(step, turn.clock.now())
    _ = turn.t
    await turn.reply(
        _("One more thing. In your plan, this step was due: {step}\nDid you do it?").format(
            step=step.text
        ),
        [
            [Button(_("Yes, done"), pack(FLOW, "ans", step.id, StepAnswer.DONE.value))],
            [Button(_("Not yet"), pack(FLOW, "ans", step.id, StepAnswer.NOT_YET.value))],
            [Button(_("I need help"), pack(FLOW, "ans", step.id, StepAnswer.HELP.value))],
        ],
    )
    return True


async def answer_due_step(turn: Turn, step_id: int | None, value: str | None) -> None:
    participant = turn.participant
    if (
        participant is None
        or step_id is None
        or value not in set(StepAnswer)
        or role_of(turn) is not Role.PARTICIPANT
    ):
        await stale_button(turn)
        return
    answer = StepAnswer(str(value))
    step = await domain.answer_step(turn.uow, participant, step_id, answer, turn.clock.now())
    if step is None:
        await stale_button(turn)
        return
    _ = turn.t
    if turn.callback_message_id is not None:
        await turn.remove_buttons(turn.callback_message_id)
    log.info(
        "update=%s participant=%s step=%s answered %s",
        turn.update_id,
        participant.public_id,
        step.id,
        answer,
    )
    if answer is StepAnswer.DONE:
        await turn.reply(_("Well done! I have marked it as done in your plan."))
    elif answer is StepAnswer.NOT_YET:
        await turn.reply(
            _("That is okay. You and your mentor can talk about it at your next meeting.")
        )
    await tell_mentor(turn, participant, step, answer)
    if answer is StepAnswer.HELP:
        entry = turn.deps.registry.help_entry
        if entry is not None:
            await entry(turn)
        else:
            await turn.reply(_("Your mentor has been told, and will get in touch with you."))


async def tell_mentor(
    turn: Turn, participant: Participant, step: PlanStep, answer: StepAnswer
) -> None:
    """Done and "I need help" are news for the mentor; "not yet" waits for the meeting."""
    if answer is StepAnswer.NOT_YET or participant.mentor_id is None:
        return
    mentor = await turn.uow.mentors.get(participant.mentor_id)
    if mentor is None or mentor.telegram_user_id is None:
        return
    t = turn.deps.translator(mentor.locale or turn.deps.settings.default_locale)
    text = (
        t("{id} has done a step in their plan: {step}")
        if answer is StepAnswer.DONE
        else t("{id} needs help with a step in their plan: {step}")
    ).format(id=participant.public_id, step=step.text)
    await turn.notifier.send_text(
        mentor.telegram_user_id,
        text,
        key=f"plan:answer:{turn.update_id}",
        kind=OutboxKind.NOTIFICATION,
        mentor_id=mentor.id,
    )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_menu([MenuItem(N_("My plan"), pack(FLOW, "mine"), PARTICIPANTS, order=20)])
    registry.add_commands(
        [Command("plan", N_("your action plan"), PARTICIPANTS | MENTORS, order=20)]
    )
    return [
        CommandHandler("plan", on_plan),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
