"""For mentors: their caseload, one participant at a time, and how often check-ins come.

/caseload            the mentor's own participants: last check-in, mood trend, flags, marks
/participant P7K3Q   one participant's check-ins, steps, flags and self-rating chart
/cadence P7K3Q monthly   every week, every other week or once a month
Only a mentor's own participants: for anyone else's, or an id that does not exist, the
same translated refusal (so nobody learns who exists), and the attempt is logged with
ids only. Buttons carry the participant's public id and are checked again on press.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import pack
from bot.domain import audit
from bot.domain import caseload as domain
from bot.domain import checkin as checkin_domain
from bot.i18n import N_, Translator
from bot.messaging import Button, Keyboard, Notifier
from bot.turn import Turn, turn_handler
from storage.models import (
    AuditAction,
    Cadence,
    Checkin,
    OutboxKind,
    Participant,
    ParticipantStatus,
    StepSource,
)

from .common import stale_button
from .notices import command_args
from .registry import MENTORS, Command, FlowRegistry, MenuItem, Role, role_of
from .selfrating import chart_png, instrument_of
from .wording import (
    ACTIVITY_LABELS,
    CADENCE_LABELS,
    FLAG_LABELS,
    FLAG_MARK,
    PAUSED_MARK,
    STEP_LABELS,
    UNREACHABLE_MARK,
    face,
    faces_only,
    schedule_text,
    short_name,
    trend_arrow,
    when,
)

log = logging.getLogger(__name__)

FLOW = "cl"
NOTE_PREVIEW = 300
BUTTONS_PER_ROW = 3

STATUS_LABELS = {
    ParticipantStatus.APPLIED: N_("not started yet"),
    ParticipantStatus.FOLLOW_UP: N_("follow-up"),
}


# Who may look


async def require_mentor(turn: Turn, command: str) -> bool:
    """Mentor commands answer mentors only; anyone else gets a short refusal, logged."""
    if role_of(turn) is Role.MENTOR:
        return True
    log.info(
        "update=%s user=%s refused /%s: not a mentor",
        turn.update_id,
        turn.actor.telegram_user_id,
        command,
    )
    await turn.reply(turn.t("This command is for mentors."))
    return False


async def own_participant(turn: Turn, text: str | None, command: str) -> Participant | None:
    """The mentor's own participant named by `text`, or a refusal that reveals nothing."""
    assert turn.mentor is not None
    _ = turn.t
    public_id = domain.normalize_public_id(text or "")
    if public_id is None:
        await turn.reply(
            _("Write it with the participant's id, like this: /{command} P7K3Q").format(
                command=command
            )
        )
        return None
    participant = await domain.own_participant(turn.uow, turn.mentor.id, public_id)
    if participant is None:
        log.warning(
            "update=%s mentor=%s refused participant=%s: not their participant",
            turn.update_id,
            turn.mentor.id,
            public_id,
        )
        someone_elses = await turn.uow.participants.by_public_id(public_id)
        if someone_elses is not None:
            await audit.record_by_mentor(
                turn.uow,
                turn.mentor.id,
                AuditAction.REFUSED_PARTICIPANT,
                turn.clock.now(),
                participant_id=someone_elses.id,
                detail=f"telegram: /{command}",
            )
        await turn.reply(_("I cannot find {id} among your participants.").format(id=public_id))
        return None
    return participant


# The caseload


def marks(participant: Participant) -> str:
    found = []
    if participant.reminders_paused_at is not None:
        found.append(PAUSED_MARK)
    if participant.unreachable_at is not None:
        found.append(UNREACHABLE_MARK)
    return " ".join(found)


def last_checkin_text(latest: Checkin | None, t: Translator) -> str:
    if latest is None:
        return t("no check-in yet")
    if latest.mood is None:
        if latest.status.value == "open":
            return t("{date}: waiting for an answer").format(date=t.date(latest.due_at))
        return t("{date}: no answer").format(date=t.date(latest.due_at))
    return t("{date}: {face}").format(date=t.date(latest.due_at), face=face(latest.mood, t))


def caseload_text(caseload: domain.Caseload, t: Translator) -> str:
    count = len(caseload.entries)
    if not count:
        return t("You have no participants yet.")
    lines = [
        t.ngettext("You have {count} participant.", "You have {count} participants.", count).format(
            count=count
        ),
    ]
    for entry in caseload.entries:
        participant = entry.participant
        head = f"{participant.public_id} · {short_name(participant.display_name)}"
        status = STATUS_LABELS.get(participant.status)
        extra = " ".join(part for part in (marks(participant), t(status) if status else "") if part)
        lines.append("")
        lines.append(f"{head} {extra}".rstrip())
        details = [last_checkin_text(entry.latest, t)]
        if len(entry.moods) > 1:
            details.append(f"{faces_only(entry.moods)} {trend_arrow(entry.moods)}".rstrip())
        if entry.flags:
            details.append(
                FLAG_MARK + " " + ", ".join(t(FLAG_LABELS[kind]) for kind in entry.flags)
            )
        if entry.steps:
            details.append(
                t.ngettext("{count} step forward", "{count} steps forward", entry.steps).format(
                    count=entry.steps
                )
            )
        lines.append("   " + " · ".join(details))
    counts = caseload.counts
    lines.append("")
    lines.append(
        t(
            "Check-ins in the last four weeks. Answered: {answered}. Not answered: {expired}."
        ).format(answered=t.number(counts.answered), expired=t.number(counts.expired))
    )
    if any(entry.flags or marks(entry.participant) for entry in caseload.entries):
        lines.append(
            t("{flag} needs a look · {paused} paused · {unreachable} cannot be reached").format(
                flag=FLAG_MARK, paused=PAUSED_MARK, unreachable=UNREACHABLE_MARK
            )
        )
    return "\n".join(lines)


def caseload_buttons(caseload: domain.Caseload) -> Keyboard:
    cells = [
        Button(entry.participant.public_id, pack(FLOW, "open", entry.participant.public_id))
        for entry in caseload.entries
    ]
    return [
        cells[start : start + BUTTONS_PER_ROW] for start in range(0, len(cells), BUTTONS_PER_ROW)
    ]


async def show_caseload(turn: Turn) -> None:
    assert turn.mentor is not None
    caseload = await domain.caseload(turn.uow, turn.mentor.id, turn.clock.now())
    log.info(
        "update=%s mentor=%s read caseload of %s",
        turn.update_id,
        turn.mentor.id,
        len(caseload.entries),
    )
    now = turn.clock.now()
    for entry in caseload.entries:
        await audit.record_by_mentor(
            turn.uow,
            turn.mentor.id,
            AuditAction.READ_PARTICIPANT,
            now,
            participant_id=entry.participant.id,
            detail="telegram: caseload",
        )
    await turn.reply(caseload_text(caseload, turn.t), caseload_buttons(caseload))


# One participant


async def overview_text(turn: Turn, overview: domain.Overview) -> str:
    _ = turn.t
    participant = overview.participant
    name = short_name(participant.display_name)
    lines = [f"{participant.public_id} · {name} {marks(participant)}".rstrip()]
    status = STATUS_LABELS.get(participant.status)
    if status:
        lines.append(_(status))
    if overview.schedule is not None:
        choice = checkin_domain.choice_of(overview.schedule.spec)
        lines.append(
            _("Check-ins {schedule}. Next: {date}.").format(
                schedule=schedule_text(choice, _), date=when(overview.schedule.next_due_at, _)
            )
        )
    for flag in overview.flags:
        lines.append(
            f"{FLAG_MARK} "
            + _("{flag} (since {date})").format(
                flag=_(FLAG_LABELS[flag.kind]), date=_.date(flag.raised_at)
            )
        )
    lines.append("")
    lines.append(_("Latest check-ins:"))
    if not overview.checkins:
        lines.append("   " + _("no check-in yet"))
    for checkin in overview.checkins:
        parts = [last_checkin_text(checkin, _)]
        chosen = [code for code in checkin.activities if code in ACTIVITY_LABELS]
        if chosen and checkin.step.value in ("help", "done"):
            parts.append(", ".join(_(ACTIVITY_LABELS[code]) for code in chosen))
        if checkin.wants_help:
            parts.append(_("asked for help"))
        lines.append("   " + " · ".join(parts))
        if checkin.note:
            note = (
                checkin.note
                if len(checkin.note) <= NOTE_PREVIEW
                else checkin.note[:NOTE_PREVIEW] + "…"
            )
            lines.append(f"      “{note}”")
    lines.append("")
    lines.append(_("Steps forward:"))
    if not overview.steps:
        lines.append("   " + _("none recorded yet"))
    mentor_names: dict[int, str] = {}
    for step in overview.steps:
        if step.source is StepSource.CHECKIN:
            who = _("from a check-in")
        else:
            mentor_id = step.recorded_by_mentor_id or 0
            if mentor_id not in mentor_names:
                mentor = await turn.uow.mentors.get(mentor_id)
                mentor_names[mentor_id] = mentor.first_name if mentor else "–"
            who = _("recorded by {name}").format(name=mentor_names[mentor_id])
        lines.append(f"   {_.date(step.taken_on)}: {_(STEP_LABELS[step.kind])} ({who})")
        if step.note:
            lines.append(f"      “{step.note}”")
    lines.append("")
    count = len(overview.ratings)
    if count:
        lines.append(
            turn.t.ngettext(
                "{count} self-rating; the chart follows.",
                "{count} self-ratings; the chart follows.",
                count,
            ).format(count=count)
        )
    else:
        lines.append(_("No self-rating yet."))
    return "\n".join(lines)


def overview_buttons(t: Translator, overview: domain.Overview) -> Keyboard:
    public_id = overview.participant.public_id
    rows = [
        [Button(t("Record a step forward"), pack("st", "ask", public_id))],
        [Button(t("How often check-ins come"), pack(FLOW, "cad", public_id))],
    ]
    if overview.flags:
        rows.insert(0, [Button(t("I have looked: clear the flags"), pack(FLOW, "seen", public_id))])
    return rows


async def show_participant(turn: Turn, participant: Participant) -> None:
    assert turn.mentor is not None
    _ = turn.t
    instrument = instrument_of(turn.deps)
    overview = await domain.overview(turn.uow, participant, instrument)
    log.info(
        "update=%s mentor=%s read participant=%s",
        turn.update_id,
        turn.mentor.id,
        participant.public_id,
    )
    await audit.record_by_mentor(
        turn.uow,
        turn.mentor.id,
        AuditAction.READ_PARTICIPANT,
        turn.clock.now(),
        participant_id=participant.id,
        detail="telegram: participant",
    )
    await turn.reply(await overview_text(turn, overview), overview_buttons(_, overview))
    if overview.ratings:
        title = _("Self-ratings of {id}").format(id=participant.public_id)
        png = await chart_png(instrument, overview.ratings, _, title)
        await turn.reply_file(
            "sendPhoto", png, filename=f"selfrating-{participant.public_id}.png", caption=title
        )


# How often


def cadence_buttons(t: Translator, public_id: str) -> Keyboard:
    return [
        [Button(t(label), pack(FLOW, "cad", public_id, cadence.value))]
        for cadence, label in CADENCE_LABELS.items()
    ]


async def ask_cadence(turn: Turn, participant: Participant) -> None:
    _ = turn.t
    schedule = await checkin_domain.checkin_schedule(
        turn.uow,
        participant,
        turn.clock.now(),
        turn.deps.settings.zone,
        checkin_domain.CheckinPolicy.from_settings(turn.deps.settings),
    )
    await turn.reply(
        _("{id} gets check-ins {schedule}. How often should they come?").format(
            id=participant.public_id,
            schedule=schedule_text(checkin_domain.choice_of(schedule.spec), _),
        ),
        cadence_buttons(_, participant.public_id),
    )


async def set_cadence(turn: Turn, participant: Participant, cadence: Cadence) -> None:
    assert turn.mentor is not None
    _ = turn.t
    schedule = await checkin_domain.change_cadence(
        turn.uow,
        participant,
        cadence,
        turn.clock.now(),
        turn.deps.settings.zone,
        checkin_domain.CheckinPolicy.from_settings(turn.deps.settings),
    )
    choice = checkin_domain.choice_of(schedule.spec)
    log.info(
        "update=%s mentor=%s set cadence of participant=%s to %s",
        turn.update_id,
        turn.mentor.id,
        participant.public_id,
        cadence,
    )
    await turn.reply(
        _("Done. {id} now gets check-ins {schedule}. Next: {date}.").format(
            id=participant.public_id,
            schedule=schedule_text(choice, _),
            date=when(schedule.next_due_at, _),
        )
    )
    if participant.chat_id is not None and participant.erased_at is None:
        t = turn.deps.translator(participant.locale)
        await Notifier(turn.uow, turn.clock).send_text(
            participant.chat_id,
            t(
                "Your mentor has changed how often you get a check-in: {schedule}. "
                "The next one is on {date}."
            ).format(schedule=schedule_text(choice, t), date=when(schedule.next_due_at, t)),
            key=f"cadence:{participant.id}:{turn.update_id}",
            kind=OutboxKind.NOTIFICATION,
            participant_id=participant.id,
        )


# Handlers


@turn_handler
async def on_caseload(turn: Turn, update: Update) -> None:
    if await require_mentor(turn, "caseload"):
        await show_caseload(turn)


@turn_handler
async def on_participant(turn: Turn, update: Update) -> None:
    if not await require_mentor(turn, "participant"):
        return
    args = command_args(update)
    participant = await own_participant(turn, args[0] if args else None, "participant")
    if participant is not None:
        await show_participant(turn, participant)


@turn_handler
async def on_cadence(turn: Turn, update: Update) -> None:
    if not await require_mentor(turn, "cadence"):
        return
    args = command_args(update)
    participant = await own_participant(turn, args[0] if args else None, "cadence")
    if participant is None:
        return
    cadence = _cadence(args[1] if len(args) > 1 else None)
    if cadence is None:
        await ask_cadence(turn, participant)
    else:
        await set_cadence(turn, participant, cadence)


def _cadence(text: str | None) -> Cadence | None:
    try:
        return Cadence((text or "").strip().lower())
    except ValueError:
        return None


@turn_handler
async def on_button(turn: Turn, update: Update) -> None:
    callback = turn.callback
    if callback is None or role_of(turn) is not Role.MENTOR:
        await stale_button(turn)
        return
    if callback.is_("list", 0):
        await show_caseload(turn)
        return
    if not (
        callback.is_("open", 1)
        or callback.is_("cad", 1)
        or callback.is_("cad", 2)
        or callback.is_("seen", 1)
    ):
        await stale_button(turn)
        return
    participant = await own_participant(turn, callback.arg(0), "participant")
    if participant is None:
        return
    if callback.is_("open", 1):
        await show_participant(turn, participant)
    elif callback.is_("cad", 1):
        await ask_cadence(turn, participant)
    elif callback.is_("cad", 2):
        cadence = _cadence(callback.arg(1))
        if cadence is None:
            await stale_button(turn)
            return
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await set_cadence(turn, participant, cadence)
    else:
        assert turn.mentor is not None
        cleared = await domain.resolve_flags(
            turn.uow, participant.id, turn.mentor.id, turn.clock.now()
        )
        log.info(
            "update=%s mentor=%s cleared %s flags of participant=%s",
            turn.update_id,
            turn.mentor.id,
            cleared,
            participant.public_id,
        )
        if turn.callback_message_id is not None:
            await turn.remove_buttons(turn.callback_message_id)
        await turn.reply(
            turn.t("Thank you. The flags for {id} are cleared.").format(id=participant.public_id)
        )


def build_handlers(registry: FlowRegistry) -> list[BaseHandler]:  # type: ignore[type-arg]
    registry.add_menu([MenuItem(N_("My participants"), pack(FLOW, "list"), MENTORS, order=10)])
    registry.add_commands(
        [
            Command("caseload", N_("your participants and how they are doing"), MENTORS, order=10),
            Command(
                "participant",
                N_("one participant: check-ins, steps, self-ratings"),
                MENTORS,
                order=11,
            ),
            Command("cadence", N_("how often a participant gets check-ins"), MENTORS, order=13),
        ]
    )
    return [
        CommandHandler("caseload", on_caseload),
        CommandHandler("participant", on_participant),
        CommandHandler("cadence", on_cadence),
        CallbackQueryHandler(on_button, pattern=rf"^{FLOW}:"),
    ]
