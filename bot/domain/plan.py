"""The action plan (*handlingsplan*): goals, and steps with who does each and by when.

A mentor writes the plan with the participant, often together with psychiatry, social
services or primary care; the participant sees it in their own words and language
(`/plan`), and the weekly check-in asks about a step that is due. Every change is kept in
`plan_event` with who made it and when, so nobody has to wonder how a plan came to say
what it says; the earlier wording is kept there too, sealed like the plan itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import N_
from storage.journey import Plans
from storage.models import (
    ActorKind,
    Mentor,
    Participant,
    ParticipantStatus,
    PlanEvent,
    PlanEventKind,
    PlanGoal,
    PlanItemStatus,
    PlanStep,
    StepOwner,
)
from storage.uow import UnitOfWork

from .lifecycle import ChangedBy, may_act_on
from .signup import InputProblem, clean_text

TEXT_MAX = 200
# A step the participant was asked about is not asked about again for this long.
ASK_AGAIN_AFTER = timedelta(days=6)
# How far ahead a due date may be set.
LATEST_DUE = timedelta(days=3 * 366)

OWNER_LABELS = {
    StepOwner.PARTICIPANT: N_("You"),
    StepOwner.MENTOR: N_("Your mentor"),
    StepOwner.ARBETSFORMEDLINGEN: N_("Arbetsförmedlingen"),
    StepOwner.SOCIAL_SERVICES: N_("Social services"),
    StepOwner.PSYCHIATRY: N_("Psychiatry"),
    StepOwner.PRIMARY_CARE: N_("Health centre"),
    StepOwner.FORSAKRINGSKASSAN: N_("Försäkringskassan"),
    StepOwner.SFI: N_("SFI"),
    StepOwner.OTHER: N_("Someone else"),
}
# As a mentor reads them: "the participant" rather than "you".
OWNER_LABELS_FOR_MENTOR = {
    **OWNER_LABELS,
    StepOwner.PARTICIPANT: N_("The participant"),
    StepOwner.MENTOR: N_("The mentor"),
}


class StepAnswer(StrEnum):
    """What a participant answers when a check-in asks "Did you ...?"."""

    DONE = "done"
    NOT_YET = "not_yet"
    HELP = "help"


class DateProblem(StrEnum):
    UNREADABLE = "unreadable"
    PAST = "past"
    TOO_FAR = "too_far"


EDITABLE = (ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)


def editable(participant: Participant) -> bool:
    """A plan is written for someone in the project: not an applicant, not after the end."""
    return participant.status in EDITABLE and participant.erased_at is None


# Plain data, for rendering and for /mydata


@dataclass(frozen=True)
class StepData:
    id: int
    goal_id: int | None
    text: str
    owner: StepOwner
    due_on: date | None
    status: PlanItemStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GoalData:
    id: int
    text: str
    status: PlanItemStatus
    steps: list[StepData] = field(default_factory=list)


@dataclass(frozen=True)
class PlanData:
    goals: list[GoalData]
    loose_steps: list[StepData]  # steps that belong to no goal

    @property
    def steps(self) -> list[StepData]:
        return [step for goal in self.goals for step in goal.steps] + self.loose_steps

    @property
    def open_steps(self) -> list[StepData]:
        """Open steps, the next first: by due date (undated last), then as written."""
        found = [step for step in self.steps if step.status is PlanItemStatus.OPEN]
        return sorted(found, key=lambda s: (s.due_on is None, s.due_on or date.max, s.id))

    @property
    def next_step(self) -> StepData | None:
        steps = self.open_steps
        return steps[0] if steps else None

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.status is PlanItemStatus.DONE)

    @property
    def empty(self) -> bool:
        return not self.goals and not self.loose_steps

    def goal_text(self, goal_id: int | None) -> str | None:
        for goal in self.goals:
            if goal.id == goal_id:
                return goal.text
        return None


def _step_data(step: PlanStep) -> StepData:
    return StepData(
        id=step.id,
        goal_id=step.goal_id,
        text=step.text,
        owner=step.owner,
        due_on=step.due_on,
        status=step.status,
        created_at=step.created_at,
        updated_at=step.updated_at,
    )


async def plan_of(uow: UnitOfWork, participant_id: int) -> PlanData:
    plans = uow.repository(Plans)
    steps = [_step_data(step) for step in await plans.steps(participant_id)]
    goals = [
        GoalData(
            id=goal.id,
            text=goal.text,
            status=goal.status,
            steps=[step for step in steps if step.goal_id == goal.id],
        )
        for goal in await plans.goals(participant_id)
    ]
    goal_ids = {goal.id for goal in goals}
    return PlanData(goals, [step for step in steps if step.goal_id not in goal_ids])


async def plan_export(uow: UnitOfWork, participant_id: int) -> dict[str, Any]:
    """The participant's whole plan and its history as plain data, for /mydata."""
    plan = await plan_of(uow, participant_id)
    events = await uow.repository(Plans).events(participant_id)

    def step(data: StepData) -> dict[str, Any]:
        return {
            "text": data.text,
            "who": data.owner.value,
            "due": data.due_on.isoformat() if data.due_on else None,
            "status": data.status.value,
            "added": data.created_at.isoformat(),
        }

    return {
        "goals": [
            {
                "text": goal.text,
                "status": goal.status.value,
                "steps": [step(s) for s in goal.steps],
            }
            for goal in plan.goals
        ],
        "steps_without_goal": [step(s) for s in plan.loose_steps],
        "history": [
            {
                "when": event.occurred_at.isoformat(),
                "what": event.kind.value,
                "by": event.actor.value,
                "change": event.change,
            }
            for event in events
        ],
    }


# Changes


def _event(
    participant_id: int,
    kind: PlanEventKind,
    by: ChangedBy,
    now: datetime,
    *,
    goal_id: int | None = None,
    step_id: int | None = None,
    change: dict[str, Any] | None = None,
) -> PlanEvent:
    return PlanEvent(
        participant_id=participant_id,
        goal_id=goal_id,
        step_id=step_id,
        kind=kind,
        change=change or {},
        actor=by.kind,
        mentor_id=by.mentor_id,
        occurred_at=now,
    )


def clean(text: str) -> str | InputProblem:
    return clean_text(text, TEXT_MAX)


async def add_goal(
    uow: UnitOfWork, participant: Participant, text: str, *, by: ChangedBy, now: datetime
) -> PlanGoal:
    goal = PlanGoal(
        participant_id=participant.id,
        text=text,
        status=PlanItemStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    plans = uow.repository(Plans)
    await plans.add(goal)
    plans.add_event(
        _event(
            participant.id,
            PlanEventKind.GOAL_ADDED,
            by,
            now,
            goal_id=goal.id,
            change={"text": text},
        )
    )
    return goal


async def change_goal(
    uow: UnitOfWork, goal: PlanGoal, text: str, *, by: ChangedBy, now: datetime
) -> None:
    before = goal.text
    goal.text = text
    goal.updated_at = now
    uow.repository(Plans).add_event(
        _event(
            goal.participant_id,
            PlanEventKind.GOAL_CHANGED,
            by,
            now,
            goal_id=goal.id,
            change={"text": [before, text]},
        )
    )


async def close_goal(
    uow: UnitOfWork, goal: PlanGoal, status: PlanItemStatus, *, by: ChangedBy, now: datetime
) -> int:
    """A goal reached or given up; its open steps are dropped with it. Returns how many."""
    if status is PlanItemStatus.OPEN:
        raise ValueError("closing needs done or dropped")
    goal.status = status
    goal.updated_at = now
    plans = uow.repository(Plans)
    plans.add_event(
        _event(
            goal.participant_id,
            PlanEventKind.GOAL_CLOSED,
            by,
            now,
            goal_id=goal.id,
            change={"status": status.value},
        )
    )
    dropped = 0
    for step in await plans.steps(goal.participant_id):
        if step.goal_id == goal.id and step.status is PlanItemStatus.OPEN:
            await close_step(uow, step, PlanItemStatus.DROPPED, by=by, now=now)
            dropped += 1
    return dropped


async def add_step(
    uow: UnitOfWork,
    participant: Participant,
    text: str,
    *,
    owner: StepOwner,
    due_on: date | None,
    goal_id: int | None,
    by: ChangedBy,
    now: datetime,
) -> PlanStep:
    step = PlanStep(
        participant_id=participant.id,
        goal_id=goal_id,
        text=text,
        owner=owner,
        due_on=due_on,
        status=PlanItemStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    plans = uow.repository(Plans)
    await plans.add(step)
    plans.add_event(
        _event(
            participant.id,
            PlanEventKind.STEP_ADDED,
            by,
            now,
            goal_id=goal_id,
            step_id=step.id,
            change={
                "text": text,
                "who": owner.value,
                "due": due_on.isoformat() if due_on else None,
            },
        )
    )
    return step


_UNSET: Any = object()


async def change_step(
    uow: UnitOfWork,
    step: PlanStep,
    *,
    by: ChangedBy,
    now: datetime,
    text: str | None = None,
    owner: StepOwner | None = None,
    due_on: date | None = _UNSET,
) -> dict[str, Any]:
    """Change what, who or when; returns {field: [before, after]} (empty if nothing)."""
    change: dict[str, Any] = {}
    if text is not None and text != step.text:
        change["text"] = [step.text, text]
        step.text = text
    if owner is not None and owner is not step.owner:
        change["who"] = [step.owner.value, owner.value]
        step.owner = owner
    if due_on is not _UNSET and due_on != step.due_on:
        change["due"] = [
            step.due_on.isoformat() if step.due_on else None,
            due_on.isoformat() if due_on else None,
        ]
        step.due_on = due_on
        step.asked_at = None  # a new date: the check-in may ask about it when it comes
    if change:
        step.updated_at = now
        uow.repository(Plans).add_event(
            _event(
                step.participant_id,
                PlanEventKind.STEP_CHANGED,
                by,
                now,
                goal_id=step.goal_id,
                step_id=step.id,
                change=change,
            )
        )
    return change


async def close_step(
    uow: UnitOfWork, step: PlanStep, status: PlanItemStatus, *, by: ChangedBy, now: datetime
) -> None:
    if status is PlanItemStatus.OPEN:
        raise ValueError("closing needs done or dropped")
    step.status = status
    step.updated_at = now
    uow.repository(Plans).add_event(
        _event(
            step.participant_id,
            PlanEventKind.STEP_CLOSED,
            by,
            now,
            goal_id=step.goal_id,
            step_id=step.id,
            change={"status": status.value},
        )
    )


async def reopen_step(uow: UnitOfWork, step: PlanStep, *, by: ChangedBy, now: datetime) -> None:
    step.status = PlanItemStatus.OPEN
    step.updated_at = now
    step.asked_at = None
    uow.repository(Plans).add_event(
        _event(
            step.participant_id,
            PlanEventKind.STEP_REOPENED,
            by,
            now,
            goal_id=step.goal_id,
            step_id=step.id,
        )
    )


# What a mentor may touch


@dataclass(frozen=True)
class Mine:
    """A plan item a mentor may change, with the participant it belongs to."""

    participant: Participant
    goal: PlanGoal | None = None
    step: PlanStep | None = None


async def participant_for_mentor(
    uow: UnitOfWork, mentor: Mentor, public_id: str
) -> Participant | None:
    """The participant with this id, if the mentor may see their plan."""
    participant = await uow.participants.by_public_id(public_id.strip()[:16])
    if participant is None or not may_act_on(mentor, participant):
        return None
    return participant


async def step_for_mentor(uow: UnitOfWork, mentor: Mentor, step_id: int) -> Mine | None:
    step = await uow.repository(Plans).step(step_id)
    participant = await uow.participants.get(step.participant_id) if step else None
    if step is None or participant is None or not may_act_on(mentor, participant):
        return None
    return Mine(participant, step=step)


async def goal_for_mentor(uow: UnitOfWork, mentor: Mentor, goal_id: int) -> Mine | None:
    goal = await uow.repository(Plans).goal(goal_id)
    participant = await uow.participants.get(goal.participant_id) if goal else None
    if goal is None or participant is None or not may_act_on(mentor, participant):
        return None
    return Mine(participant, goal=goal)


# The check-in's question about a due step


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


async def due_plan_step(
    uow: UnitOfWork, participant_id: int, now: datetime, zone: ZoneInfo
) -> PlanStep | None:
    """The participant's own open step that is due (by today), asked about at most once
    a week: the oldest due first. None when there is nothing to ask."""
    participant = await uow.participants.get(participant_id)
    if participant is None or not editable(participant):
        return None
    for step in await uow.repository(Plans).open_participant_steps_due(
        participant_id, local_today(now, zone)
    ):
        if step.owner is not StepOwner.PARTICIPANT:
            continue
        if step.asked_at is not None and step.asked_at > now - ASK_AGAIN_AFTER:
            continue
        return step
    return None


def mark_asked(step: PlanStep, now: datetime) -> None:
    step.asked_at = now


async def answer_step(
    uow: UnitOfWork,
    participant: Participant,
    step_id: int,
    answer: StepAnswer,
    now: datetime,
) -> PlanStep | None:
    """The participant's answer to "Did you ...?": done closes the step; not yet and
    "I need help" are kept as events (the mentor sees them). None for a step that is not
    theirs or not open (an old or forged button)."""
    step = await uow.repository(Plans).step(step_id)
    if (
        step is None
        or step.participant_id != participant.id
        or step.status is not PlanItemStatus.OPEN
        or not editable(participant)
    ):
        return None
    by = ChangedBy(ActorKind.PARTICIPANT)
    if answer is StepAnswer.DONE:
        await close_step(uow, step, PlanItemStatus.DONE, by=by, now=now)
    else:
        kind = (
            PlanEventKind.STEP_NOT_YET if answer is StepAnswer.NOT_YET else PlanEventKind.STEP_HELP
        )
        uow.repository(Plans).add_event(
            _event(participant.id, kind, by, now, goal_id=step.goal_id, step_id=step.id)
        )
    step.asked_at = now
    return step


# Due dates as mentors type them


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.](\d{1,2})(?:[/.\s]+(\d{2}|\d{4}))?$")


def parse_due(text: str, today: date) -> date | DateProblem:
    """2026-03-15, 15/3, 15.3, 15/3 2026 or 15/3/26 (day before month, as in Sweden). A
    day and month without a year is the next such day from today."""
    value = text.strip()
    try:
        if match := _ISO.match(value):
            found = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _DAY_MONTH.match(value):
            day, month = int(match[1]), int(match[2])
            if match[3]:
                year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
                found = date(year, month, day)
            else:
                found = date(today.year, month, day)
                if found < today:
                    found = date(today.year + 1, month, day)
        else:
            return DateProblem.UNREADABLE
    except ValueError:
        return DateProblem.UNREADABLE
    if found < today:
        return DateProblem.PAST
    if found > today + LATEST_DUE:
        return DateProblem.TOO_FAR
    return found
