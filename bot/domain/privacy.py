"""A participant's rights over their data: see everything (/mydata), erase it (/delete),
and the retention rule that purges free text once a participant has left long enough ago.

Every table that holds something about a participant is listed in COVERAGE with what
export, erasure and the retention purge do with it; a test fails when a table that refers
to a participant is missing there, so a new feature cannot forget these rights.

Erasure keeps only what the project's anonymous counts need (cohort, gender, when they
joined and left, the kinds and dates of steps, check-ins answered or not, the topics and
times of requests for help) and cuts the link to the person: their Telegram id, name and
words are gone, and their pseudonymous id is replaced, so logs and earlier exports that
carry the old id no longer lead to the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, true, update

from bot.clock import Randomness
from bot.i18n import LANGUAGE_NAMES, N_, Translator
from bot.messaging import PRIORITY
from storage.models import (
    Application,
    Appointment,
    AuditEvent,
    Checkin,
    CheckinStatus,
    Conversation,
    Escalation,
    EscalationMessage,
    EscalationOutbox,
    FollowUpQuestion,
    LifecycleEvent,
    Mentor,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantFlag,
    ParticipantSchedule,
    ParticipantStatus,
    PlanEvent,
    PlanGoal,
    PlanStep,
    SelfRating,
    SelfRatingScore,
    Step,
)
from storage.uow import UnitOfWork

# What happens to each table that refers to a participant (directly or through a parent).
COVERAGE: dict[str, str] = {
    "participant": "exported; erased: Telegram id, name and pseudonym cut, status ended",
    "conversation": "erased: deleted",
    "inbox": "not kept: each update is deleted when handled (sealed until then)",
    "checkin": "exported; erased: answers and note removed, the fact kept",
    "participant_flag": "exported; erased: deleted",
    "participant_schedule": "exported; erased: deleted",
    "selfrating": "exported; erased: deleted",
    "selfrating_score": "exported; erased: deleted",
    "step": "exported; erased: note removed, kind and date kept",
    "escalation": "exported; erased: matched words removed, topic and times kept",
    "escalation_message": "exported; erased: deleted",
    "escalation_event": "kept: times and kinds only",
    "escalation_outbox": "kept: links only",
    "appointment": "exported; erased: place and note removed, time kept",
    "outbox": "erased: messages to and about the participant emptied",
    "lifecycle_event": "exported; kept: statuses and dates",
    "application": "exported; erased: free-text place removed",
    "plan_goal": "exported; erased: deleted",
    "plan_step": "exported; erased: deleted",
    "plan_event": "erased: deleted",
    "follow_up_question": "exported; kept: outcomes for the ESF report",
    "audit_event": "exported (who looked); kept: the trail cannot be changed",
    "signup_draft": "erased: deleted (keyed by Telegram id)",
    "signup_attempt": "erased: deleted (keyed by Telegram id)",
}


@dataclass(frozen=True)
class Entry:
    key: str  # stable, for the machine-readable copy
    label: str  # translated, for people
    value: str  # shown as is
    raw: Any = None


@dataclass
class Section:
    key: str
    title: str
    records: list[list[Entry]] = field(default_factory=list)


class Collector:
    """Builds the sections in one language, formatting every value the same way."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def entry(self, key: str, label: str, value: Any) -> Entry:
        return Entry(key, self.t(label), self.show(value), _raw(value))

    def show(self, value: Any) -> str:
        t = self.t
        if value is None or value == "" or value == []:
            return "–"
        if isinstance(value, bool):
            return t("yes") if value else t("no")
        if isinstance(value, datetime):
            return t.datetime(value)
        if isinstance(value, date):
            return t.date(value)
        if isinstance(value, list | tuple):
            return ", ".join(self.show(item) for item in value)
        return str(value)


def _raw(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_raw(item) for item in value]
    return value


STATUS_LABELS = {
    ParticipantStatus.APPLIED: N_("applied, waiting for an answer"),
    ParticipantStatus.ACTIVE: N_("taking part"),
    ParticipantStatus.FOLLOW_UP: N_("follow-up after work or studies"),
    ParticipantStatus.ENDED: N_("contact ended"),
}
CHECKIN_STATUS_LABELS = {
    CheckinStatus.OPEN: N_("open"),
    CheckinStatus.ANSWERED: N_("answered"),
    CheckinStatus.EXPIRED: N_("not answered"),
}


async def collect(
    uow: UnitOfWork, participant: Participant, t: Translator, instrument: Any = None
) -> list[Section]:
    """Everything stored about one participant, in their language."""
    from bot.escalation_notices import topic
    from bot.flows.wording import ACTIVITY_LABELS, FACES, FLAG_LABELS, STEP_LABELS

    c = Collector(t)
    session = uow.session
    mentors = {mentor.id: mentor for mentor in await uow.mentors.all()}

    def mentor_name(mentor_id: int | None) -> str | None:
        mentor = mentors.get(mentor_id or 0)
        return mentor.name if mentor else None

    cohort = await uow.cohorts.get(participant.cohort_id) if participant.cohort_id else None
    sections: list[Section] = []

    about = Section("you", t("About you"))
    about.records.append(
        [
            c.entry("id", N_("Your id in Stegvis"), participant.public_id),
            c.entry("name", N_("Name"), participant.display_name),
            c.entry("language", N_("Language"), LANGUAGE_NAMES.get(participant.locale)),
            c.entry("status", N_("Status"), t(STATUS_LABELS[participant.status])),
            c.entry("group", N_("Group"), cohort.name if cohort else None),
            c.entry("mentor", N_("Your mentor"), mentor_name(participant.mentor_id)),
            c.entry("joined", N_("Joined"), participant.joined_at),
            c.entry("consent", N_("Agreed to how we handle your data"), participant.consent_at),
            c.entry("gender", N_("Gender"), participant.gender),
            c.entry("paused", N_("Reminders paused"), participant.reminders_paused_at),
        ]
    )
    sections.append(about)

    checkins = Section("checkins", t("Weekly check-ins"))
    for checkin in await _all(
        session,
        select(Checkin).where(Checkin.participant_id == participant.id).order_by(Checkin.due_at),
    ):
        mood = FACES.get(checkin.mood or 0)
        checkins.records.append(
            [
                c.entry("date", N_("Date"), checkin.due_at),
                c.entry("status", N_("Status"), t(CHECKIN_STATUS_LABELS[checkin.status])),
                c.entry(
                    "week", N_("How the week was"), f"{mood[0]} {t(mood[1])}" if mood else None
                ),
                c.entry(
                    "activities",
                    N_("Done for work or studies"),
                    [t(ACTIVITY_LABELS.get(a, a)) for a in checkin.activities],
                ),
                c.entry("help", N_("Wanted help"), checkin.wants_help),
                c.entry("note", N_("What you wrote"), checkin.note),
            ]
        )
    sections.append(checkins)

    ratings = Section("selfratings", t("Self-ratings"))
    for rating in await _all(
        session,
        select(SelfRating)
        .where(SelfRating.participant_id == participant.id)
        .order_by(SelfRating.started_at),
    ):
        scores = await _all(
            session,
            select(SelfRatingScore)
            .where(SelfRatingScore.selfrating_id == rating.id)
            .order_by(SelfRatingScore.id),
        )
        record = [c.entry("date", N_("Date"), rating.completed_at or rating.started_at)]
        for score in scores:
            theme = instrument.theme(score.theme) if instrument else None
            label = instrument.text(theme.title, t.locale) if theme else score.theme
            record.append(Entry(f"score.{score.theme}", label, f"{score.score} / 5", score.score))
        ratings.records.append(record)
    sections.append(ratings)

    steps = Section("steps", t("Steps forward"))
    for step in await _all(
        session, select(Step).where(Step.participant_id == participant.id).order_by(Step.taken_on)
    ):
        steps.records.append(
            [
                c.entry("date", N_("Date"), step.taken_on),
                c.entry("step", N_("Step"), t(STEP_LABELS[step.kind])),
                c.entry(
                    "by",
                    N_("Written down by"),
                    mentor_name(step.recorded_by_mentor_id) or t("you, in a check-in"),
                ),
                c.entry("note", N_("Note"), step.note),
            ]
        )
    sections.append(steps)

    flags = Section("flags", t("Things your mentor was told to look at"))
    for flag in await _all(
        session,
        select(ParticipantFlag)
        .where(ParticipantFlag.participant_id == participant.id)
        .order_by(ParticipantFlag.raised_at),
    ):
        flags.records.append(
            [
                c.entry("date", N_("Date"), flag.raised_at),
                c.entry("what", N_("What"), t(FLAG_LABELS[flag.kind])),
            ]
        )
    sections.append(flags)

    requests = Section("help", t("Requests for help"))
    for case in await _all(
        session,
        select(Escalation)
        .where(Escalation.participant_id == participant.id)
        .order_by(Escalation.created_at),
    ):
        record = [
            c.entry("date", N_("Date"), case.created_at),
            c.entry("topic", N_("Topic"), topic(t, case.category)),
            c.entry("urgent", N_("Urgent"), case.urgent),
            c.entry("shared", N_("Shared with your mentor"), case.shared_at),
            c.entry("resolved", N_("Closed"), case.resolved_at),
        ]
        messages = await _all(
            session,
            select(EscalationMessage)
            .where(EscalationMessage.escalation_id == case.id)
            .order_by(EscalationMessage.created_at),
        )
        for index, message in enumerate(messages, start=1):
            sender = mentor_name(message.mentor_id) if message.mentor_id else t("you")
            body = message.text or f"[{message.kind.value}]"
            record.append(
                Entry(
                    f"message.{index}",
                    f"{c.show(message.created_at)} · {sender}",
                    body,
                    {"at": _raw(message.created_at), "from": sender, "text": message.text},
                )
            )
        requests.records.append(record)
    sections.append(requests)

    appointments = Section("appointments", t("Appointments"))
    for appointment in await _all(
        session,
        select(Appointment)
        .where(Appointment.participant_id == participant.id)
        .order_by(Appointment.starts_at),
    ):
        appointments.records.append(
            [
                c.entry("when", N_("When"), appointment.starts_at),
                c.entry("place", N_("Place"), appointment.place),
                c.entry("note", N_("Note"), appointment.note),
                c.entry("with", N_("With"), mentor_name(appointment.mentor_id)),
                c.entry(
                    "answer",
                    N_("Your answer"),
                    appointment.answer.value if appointment.answer else None,
                ),
            ]
        )
    sections.append(appointments)

    plan = Section("plan", t("Your plan"))
    goals = {
        goal.id: goal
        for goal in await _all(
            session, select(PlanGoal).where(PlanGoal.participant_id == participant.id)
        )
    }
    for goal in goals.values():
        plan.records.append([c.entry("goal", N_("Goal"), goal.text)])
    for plan_step in await _all(
        session,
        select(PlanStep).where(PlanStep.participant_id == participant.id).order_by(PlanStep.id),
    ):
        plan.records.append(
            [
                c.entry("step", N_("Step"), plan_step.text),
                c.entry(
                    "goal",
                    N_("Goal"),
                    goals[plan_step.goal_id].text if plan_step.goal_id in goals else None,
                ),
                c.entry("by", N_("By when"), plan_step.due_on),
                c.entry("status", N_("Status"), plan_step.status.value),
            ]
        )
    sections.append(plan)

    history = Section("status", t("Changes of status"))
    for event in await _all(
        session,
        select(LifecycleEvent)
        .where(LifecycleEvent.participant_id == participant.id)
        .order_by(LifecycleEvent.occurred_at),
    ):
        history.records.append(
            [
                c.entry("date", N_("Date"), event.occurred_at),
                c.entry("status", N_("Status"), t(STATUS_LABELS[event.to_status])),
                c.entry("reason", N_("Reason"), event.reason),
            ]
        )
    sections.append(history)

    applications = Section("applications", t("Your application"))
    for application in await _all(
        session, select(Application).where(Application.participant_id == participant.id)
    ):
        applications.records.append(
            [
                c.entry("sent", N_("Sent"), application.submitted_at),
                c.entry("place", N_("Where you live"), application.area_other or application.area),
                c.entry("topics", N_("Wanted help with"), list(application.topics)),
                c.entry(
                    "answer",
                    N_("Answer"),
                    application.decision.value if application.decision else None,
                ),
            ]
        )
    sections.append(applications)

    follow_up = Section("follow_up", t("Questions after you started work or studies"))
    for question in await _all(
        session,
        select(FollowUpQuestion)
        .where(FollowUpQuestion.participant_id == participant.id)
        .order_by(FollowUpQuestion.due_at),
    ):
        follow_up.records.append(
            [
                c.entry("months", N_("After months"), question.months),
                c.entry("asked", N_("Asked"), question.asked_at),
                c.entry("answer", N_("Answer"), question.answer.value if question.answer else None),
            ]
        )
    sections.append(follow_up)

    looked = Section("audit", t("Who has looked at your data"))
    for event in await _all(
        session,
        select(AuditEvent)
        .where(AuditEvent.participant_id == participant.id)
        .order_by(AuditEvent.at),
    ):
        looked.records.append(
            [
                c.entry("when", N_("When"), event.at),
                c.entry("who", N_("Who"), mentor_name(event.mentor_id) or t("project staff")),
                c.entry("what", N_("What"), event.action.value),
            ]
        )
    sections.append(looked)
    return sections


async def _all(session: Any, query: Any) -> Sequence[Any]:
    rows: Sequence[Any] = (await session.scalars(query)).all()
    return rows


def as_json(participant_id: str, sections: Sequence[Section], made_at: datetime) -> str:
    """The same content, machine-readable (GDPR art. 20), with stable English keys."""
    document = {
        "participant": participant_id,
        "made_at": made_at.isoformat(),
        "sections": {
            section.key: [{entry.key: entry.raw for entry in record} for record in section.records]
            for section in sections
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


# Erasure and retention


@dataclass(frozen=True)
class Erased:
    former_public_id: str
    mentor: Mentor | None


async def _free_text(uow: UnitOfWork, participant: Participant, now: datetime) -> None:
    """Remove every word the participant (or someone about them) wrote; keep the facts."""
    session = uow.session
    pid = participant.id
    await session.execute(update(Checkin).where(Checkin.participant_id == pid).values(note=None))
    await session.execute(update(Step).where(Step.participant_id == pid).values(note=None))
    case_ids = select(Escalation.id).where(Escalation.participant_id == pid)
    await session.execute(
        delete(EscalationMessage).where(EscalationMessage.escalation_id.in_(case_ids))
    )
    await session.execute(
        update(Escalation).where(Escalation.participant_id == pid).values(terms=[])
    )
    # Outbox rows point at appointments (their reminders): keep the row, drop the words.
    await session.execute(
        update(Appointment).where(Appointment.participant_id == pid).values(place="", note=None)
    )
    await session.execute(delete(PlanEvent).where(PlanEvent.participant_id == pid))
    await session.execute(delete(PlanStep).where(PlanStep.participant_id == pid))
    await session.execute(delete(PlanGoal).where(PlanGoal.participant_id == pid))
    await session.execute(
        update(Application).where(Application.participant_id == pid).values(area_other=None)
    )
    # The messages the bot sent to them, and to mentors about their requests.
    linked = select(EscalationOutbox.outbox_id).where(EscalationOutbox.escalation_id.in_(case_ids))
    about = (OutboxMessage.participant_id == pid) | OutboxMessage.id.in_(linked)
    await _unsend_from_mentors(uow, participant, about, now)
    await session.execute(
        update(OutboxMessage)
        .where(about)
        .values(payload={"method": "erased"}, payload_purged_at=now)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            about,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        )
        .values(status=OutboxStatus.SKIPPED, last_error="participant erased their data")
    )


# Telegram lets a bot delete its own messages in a private chat for 48 hours.
TELEGRAM_DELETE_WINDOW = timedelta(hours=47)


async def _unsend_from_mentors(
    uow: UnitOfWork, participant: Participant, about: ColumnElement[bool], now: datetime
) -> int:
    """What the bot told mentors about this person in the last two days is taken back out
    of the mentors' chats as well (older messages Telegram no longer lets a bot delete)."""
    elsewhere = (
        OutboxMessage.chat_id != participant.chat_id if participant.chat_id is not None else true()
    )
    sent = (
        await uow.session.execute(
            select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.telegram_message_id)
            .where(
                about,
                elsewhere,
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.telegram_message_id.is_not(None),
                OutboxMessage.sent_at >= now - TELEGRAM_DELETE_WINDOW,
            )
            .order_by(OutboxMessage.id)
        )
    ).all()
    for row_id, chat_id, message_id in sent:
        await uow.outbox.add(
            chat_id=chat_id,
            payload={"method": "deleteMessage", "message_id": message_id},
            key=f"erase:{row_id}",
            kind=OutboxKind.NOTIFICATION,
            priority=PRIORITY[OutboxKind.NOTIFICATION],
            due_at=now,
            now=now,
        )
    return len(sent)


async def erase(
    uow: UnitOfWork, participant: Participant, now: datetime, randomness: Randomness
) -> Erased:
    """/delete confirmed: the person's data goes; anonymous counts stay."""
    from bot.domain.onboarding import new_public_id

    session = uow.session
    pid = participant.id
    mentor = await uow.mentors.get(participant.mentor_id) if participant.mentor_id else None
    former = participant.public_id
    await _free_text(uow, participant, now)
    await session.execute(
        update(Checkin)
        .where(Checkin.participant_id == pid)
        .values(mood=None, activities=[], wants_help=None)
    )
    await session.execute(delete(ParticipantFlag).where(ParticipantFlag.participant_id == pid))
    await session.execute(
        delete(ParticipantSchedule).where(ParticipantSchedule.participant_id == pid)
    )
    ratings = select(SelfRating.id).where(SelfRating.participant_id == pid)
    await session.execute(delete(SelfRatingScore).where(SelfRatingScore.selfrating_id.in_(ratings)))
    await session.execute(delete(SelfRating).where(SelfRating.participant_id == pid))
    telegram_id = participant.telegram_user_id
    if telegram_id is not None:
        from storage.models import SignupAttempt, SignupDraft

        await session.execute(
            delete(Conversation).where(Conversation.telegram_user_id == telegram_id)
        )
        await session.execute(
            delete(SignupDraft).where(SignupDraft.telegram_user_id == telegram_id)
        )
        await session.execute(
            delete(SignupAttempt).where(SignupAttempt.telegram_user_id == telegram_id)
        )
    if participant.status is not ParticipantStatus.ENDED:
        from bot.domain.lifecycle import ChangedBy, change_status
        from storage.models import EndedReason

        await change_status(
            uow,
            participant,
            ParticipantStatus.ENDED,
            reason=EndedReason.OWN_WISH,
            by=ChangedBy.participant(),
            now=now,
            rhythm=None,
        )
    participant.public_id = await new_public_id(uow, randomness)
    participant.telegram_user_id = None
    participant.chat_id = None
    participant.display_name = None
    participant.erased_at = now
    participant.free_text_purged_at = now
    await session.flush()
    return Erased(former, mentor)


async def due_for_purge(
    uow: UnitOfWork, now: datetime, months: int, limit: int = 200
) -> list[Participant]:
    """Participants who left more than `months` ago whose words are still stored."""
    cutoff = now - timedelta(days=round(months * 30.44))
    left = (
        select(LifecycleEvent.participant_id, func.max(LifecycleEvent.occurred_at).label("at"))
        .where(LifecycleEvent.to_status == ParticipantStatus.ENDED)
        .group_by(LifecycleEvent.participant_id)
        .subquery()
    )
    query = (
        select(Participant)
        .join(left, left.c.participant_id == Participant.id)
        .where(
            Participant.status == ParticipantStatus.ENDED,
            Participant.free_text_purged_at.is_(None),
            left.c.at < cutoff,
        )
        .limit(limit)
    )
    return list((await uow.session.scalars(query)).all())


async def purge_free_text(uow: UnitOfWork, participant: Participant, now: datetime) -> None:
    """The retention rule: the words go, the facts and the person's link stay."""
    await _free_text(uow, participant, now)
    participant.display_name = None
    participant.free_text_purged_at = now
    await uow.session.flush()


async def purge_old_outbox(uow: UnitOfWork, now: datetime, days: int) -> int:
    """Delivered or given-up messages keep their outcome, not their text, after `days`."""
    cutoff = now - timedelta(days=days)
    done = [OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.SKIPPED, OutboxStatus.UNREACHABLE]
    result = await uow.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.in_(done),
            OutboxMessage.created_at < cutoff,
            OutboxMessage.payload_purged_at.is_(None),
        )
        .values(payload={"method": "purged"}, payload_purged_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
