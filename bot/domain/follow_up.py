"""Follow-up after work or studies: "are you still working or studying?" at 3 and 6 months.

Leaving for work or studies (see `lifecycle.leave`) schedules one question row per
month mark, with its due time in an indexed column; a periodic job asks what is due
(`due_questions`), the participant answers with a button (`answer`), and the answer is
an outcome the project reports. Nothing is held in memory: a restart loses nothing and
a question is asked once. Leaving follow-up cancels what has not been asked yet.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.journey import FollowUps
from storage.models import (
    FollowUpAnswer,
    FollowUpQuestion,
    FollowUpStatus,
    LifecycleEvent,
    Participant,
    ParticipantStatus,
)
from storage.uow import UnitOfWork

MONTHS = (3, 6)
# Someone who has blocked the bot is tried again this much later.
UNREACHABLE_RETRY = timedelta(days=7)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; the 31st becomes the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


async def schedule_questions(
    uow: UnitOfWork, participant: Participant, left: LifecycleEvent
) -> list[FollowUpQuestion]:
    """One question per month mark, counted from the day they left. The job holds them
    back in quiet hours, so a mentor recording an exit late in the evening is fine."""
    repository = uow.repository(FollowUps)
    made = []
    for months in MONTHS:
        question = FollowUpQuestion(
            participant_id=participant.id,
            months=months,
            left_event_id=left.id,
            status=FollowUpStatus.SCHEDULED,
            due_at=add_months(left.occurred_at, months),
        )
        repository.add(question)
        made.append(question)
    await uow.session.flush()
    return made


async def cancel_questions(uow: UnitOfWork, participant: Participant) -> int:
    return await uow.repository(FollowUps).cancel_open(participant.id)


@dataclass(frozen=True)
class Due:
    participant: Participant
    question: FollowUpQuestion


@dataclass(frozen=True)
class DuePass:
    asked: list[Due]
    read: int  # due rows looked at (asked, cancelled or put off): a full batch means more


async def due_questions(
    uow: UnitOfWork, now: datetime, *, limit: int = 100, skip_locked: bool = False
) -> DuePass:
    """Questions to ask now, marked asked in this transaction; the caller queues the
    messages in the same one. Questions for someone no longer in follow-up are
    cancelled; for someone who blocked the bot or paused reminders, tried a week later."""
    repository = uow.repository(FollowUps)
    ids = await repository.claim_due(now, limit, skip_locked=skip_locked)
    found = await repository.many(ids)
    people = await repository.participants({question.participant_id for question in found})
    due: list[Due] = []
    for question in found:
        participant = people.get(question.participant_id)
        if (
            participant is None
            or participant.status is not ParticipantStatus.FOLLOW_UP
            or participant.erased_at is not None
            or participant.chat_id is None
        ):
            question.status = FollowUpStatus.CANCELLED
            continue
        if participant.unreachable_at is not None or participant.reminders_paused_at is not None:
            question.due_at = now + UNREACHABLE_RETRY
            continue
        question.status = FollowUpStatus.ASKED
        question.asked_at = now
        due.append(Due(participant, question))
    return DuePass(due, len(ids))


async def answer(
    uow: UnitOfWork,
    participant: Participant,
    question_id: int,
    value: FollowUpAnswer,
    now: datetime,
) -> FollowUpQuestion | None:
    """Store the participant's answer; None when the question is not theirs or not open
    (a forged or old button). A second press before the answer was stored is the same."""
    question = await uow.repository(FollowUps).get(question_id, lock=True)
    if (
        question is None
        or question.participant_id != participant.id
        or question.status is not FollowUpStatus.ASKED
    ):
        return None
    question.status = FollowUpStatus.ANSWERED
    question.answer = value
    question.answered_at = now
    return question


async def of_participant(uow: UnitOfWork, participant_id: int) -> list[FollowUpQuestion]:
    return list(await uow.repository(FollowUps).of_participant(participant_id))
