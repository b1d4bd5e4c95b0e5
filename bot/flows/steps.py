"""A mentor records a step forward: /step P7K3Q internship [2026-03-01] [note].

States (conversation.flow == FLOW):
    kind  the kind buttons are shown; data {"participant": public id, "on": ISO date}
Without a kind (or with one the bot does not know) the mentor gets a button per kind. The
date defaults to today in the project's time zone and may not lie in the future. The
participant is told, in their language: a step is news worth sharing, and they have a
right to know what is written about them.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import steps as domain
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard, Notifier
from bot.turn import Turn, turn_handler
from storage.models import OutboxKind, Participant, StepKind

from . import follow_up
from .caseload import own_participant, require_mentor
from .common import stale_button
from .notices import command_args
from .registry import MENTORS, Command, FlowRegistry, Role, role_of
from .wording import STEP_LABELS

log = logging.getLogger(__name__)

FLOW = "st"
KIND = "kind"


def kind_buttons(t: Translator, public_id: str) -> Keyboard:
    return [
        [Button(t(label), pack(FLOW, "kind", public_id, kind.value))]
        for kind, label in STEP_LABELS.items()
    ]


def usage(t: Translator) -> str:
    return t(
        "Write it like this: /step P7K3Q internship 2026-03-01\n"
        "Kinds: {kinds}\nWithout a kind you get buttons; without a date, today is used."
    ).format(kinds=", ".join(kind.value for kind in StepKind))


async def ask_kind(turn: Turn, participant: Participant, on: date | None) -> None:
    await turn.set_state(
        FLOW, KIND, {"participant": participant.public_id, "on": on.isoformat() if on else None}
    )
    await turn.reply(
        turn.t("Which step has {id} taken?").format(id=participant.public_id),
        kind_buttons(turn.t, participant.public_id),
    )


async def record(
    turn: Turn, participant: Participant, kind: StepKind, on: date | None, note: str | None
) -> None:
    assert turn.mentor is not None
    _ = turn.t
    now = turn.clock.now()
    today = now.astimezone(turn.deps.settings.zone).date()
    taken_on = on or today
    if taken_on > today:
        await turn.reply(_("That date is in the future. A step is recorded once it has happened."))
        return
    step = await domain.record_by_mentor(
        turn.uow,
        participant=participant,
        mentor_id=turn.mentor.id,
        kind=kind,
        taken_on=taken_on,
        now=now,
        note=note,
    )
    log.info(
        "update=%s mentor=%s recorded step=%s kind=%s for participant=%s",
        turn.update_id,
        turn.mentor.id,
        step.id,
        kind,
        participant.public_id,
    )
    await turn.reply(
        _("Recorded for {id}: {step}, {date}.").format(
            id=participant.public_id, step=_(STEP_LABELS[kind]), date=_.date(taken_on)
        )
    )
    if participant.chat_id is not None and participant.erased_at is None:
        t = turn.deps.translator(participant.locale)
        await Notifier(turn.uow, turn.clock).send_text(
            participant.chat_id,
            t("Your mentor has noted a step forward: {step}. Well done!").format(
                step=t(STEP_LABELS[kind])
            ),
            key=f"step:{step.id}",
            kind=OutboxKind.NOTIFICATION,
            participant_id=participant.id,
        )
    if kind is StepKind.LEFT_FOR_WORK:
        await follow_up.offer_follow_up(turn, participant)  # work or studies: follow-up


@turn_handler
async def on_step(turn: Turn, update: Update) -> None:
    if not await require_mentor(turn, "step"):
        return
    args = command_args(update)
    if not args:
        await turn.reply(usage(turn.t))
        return
    participant = await own_participant(turn, args[0], "step")
    if participant is None:
        return
    rest = args[1:]
    kind = domain.parse_kind(rest[0]) if rest else None
    if kind is not None:
        rest = rest[1:]
    on: date | None = None
    if rest and domain.parse_date(rest[0]) is not None:
        on = domain.parse_date(rest[0])
        rest = rest[1:]
    elif rest and rest[0][:1].isdigit():
        await turn.reply(turn.t("I could not read the date. Write it like 2026-03-01."))
        return
    if kind is None:
        if rest:
            await turn.reply(usage(turn.t))
            return
        await ask_kind(turn, participant, on)
        return
    await record(turn, participant, kind, on, " ".join(rest) or None)


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None or role_of(turn) is not Role.MENTOR:
        await stale_button(turn)
        return
    if callback.is_("ask", 1):
        participant = await own_participant(turn, callback.arg(0), "step")
        if participant is not None:
            await ask_kind(turn, participant, None)
        return
    if not callback.is_("kind", 2):
        await stale_button(turn)
        return
    data = turn.conversation.data if turn.conversation else {}
    kind = domain.parse_kind(callback.arg(1) or "")
    if turn.step != (FLOW, KIND) or data.get("participant") != callback.arg(0) or kind is None:
        await stale_button(turn)
        return
    participant = await own_participant(turn, callback.arg(0), "step")
    if participant is None:
        return
    await turn.clear_state()
    if turn.callback_message_id is not None:
        await turn.edit(turn.callback_message_id, "✓ " + turn.t(STEP_LABELS[kind]))
    stored = data.get("on")
    await record(turn, participant, kind, date.fromisoformat(stored) if stored else None, None)


async def on_message_in_flow(turn: Turn, message: Message) -> None:
    if turn.mentor is None:
        await turn.clear_state()
        return
    await turn.reply(turn.t("Please choose one of the buttons."))
    data = turn.conversation.data if turn.conversation else {}
    participant = await own_participant(turn, str(data.get("participant", "")), "step")
    if participant is None:
        await turn.clear_state()
        return
    stored = data.get("on")
    await ask_kind(turn, participant, date.fromisoformat(stored) if stored else None)


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_flow(FLOW, on_message_in_flow)
    registry.add_commands([Command("step", N_("record a step forward"), MENTORS, order=12)])
    return [
        CommandHandler("step", on_step),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
