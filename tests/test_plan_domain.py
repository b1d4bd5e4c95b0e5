"""The action plan without Telegram: changes kept as events, the step a check-in asks about,
dates as mentors type them, and the plan as the participant's own data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.domain import journey, lifecycle, plan
from bot.domain.lifecycle import ChangedBy
from bot.domain.plan import DateProblem, StepAnswer
from storage.db import Database
from storage.journey import Plans
from storage.models import (
    ActorKind,
    EndedReason,
    ParticipantStatus,
    PlanEventKind,
    PlanItemStatus,
    StepOwner,
)
from storage.uow import UnitOfWork
from tests import journey_support as seed

ZONE = ZoneInfo("Europe/Stockholm")


async def mentor_and_participant(database: Database, clock: ManualClock) -> tuple[int, int]:
    mentor_id = await seed.mentor(database, "Amina Haddad", ["sv"], clock.now())
    return mentor_id, await seed.participant(database, clock.now(), mentor_id=mentor_id)


async def test_every_change_to_a_plan_is_kept_with_who_and_the_words_before(
    database: Database, clock: ManualClock
) -> None:
    mentor_id, pid = await mentor_and_participant(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        mentor = await uow.mentors.get(mentor_id)
        assert participant is not None and mentor is not None
        by = ChangedBy.mentor(mentor)
        goal = await plan.add_goal(uow, participant, "Ett jobb i vården", by=by, now=clock.now())
        step = await plan.add_step(
            uow,
            participant,
            "Söka undersköterskeutbildning",
            owner=StepOwner.PARTICIPANT,
            due_on=date(2026, 2, 1),
            goal_id=goal.id,
            by=by,
            now=clock.now(),
        )
        other = await plan.add_step(
            uow,
            participant,
            "Möte med socialtjänsten om boendet",
            owner=StepOwner.SOCIAL_SERVICES,
            due_on=None,
            goal_id=goal.id,
            by=by,
            now=clock.now(),
        )
        clock.advance(timedelta(days=1))
        change = await plan.change_step(
            uow, step, by=by, now=clock.now(), text="Söka vårdbiträdesutbildning", due_on=None
        )
        assert change == {
            "text": ["Söka undersköterskeutbildning", "Söka vårdbiträdesutbildning"],
            "due": ["2026-02-01", None],
        }
        assert await plan.change_step(uow, step, by=by, now=clock.now(), owner=step.owner) == {}
        dropped = await plan.close_goal(uow, goal, PlanItemStatus.DONE, by=by, now=clock.now())
        await uow.commit()
    assert dropped == 2
    async with UnitOfWork(database) as uow:
        events = await uow.repository(Plans).events(pid)
        assert [(e.kind, e.actor, e.mentor_id) for e in events] == [
            (PlanEventKind.GOAL_ADDED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.STEP_ADDED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.STEP_ADDED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.STEP_CHANGED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.GOAL_CLOSED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.STEP_CLOSED, ActorKind.MENTOR, mentor_id),
            (PlanEventKind.STEP_CLOSED, ActorKind.MENTOR, mentor_id),
        ]
        data = await plan.plan_of(uow, pid)
        assert data.goals[0].status is PlanItemStatus.DONE
        assert {s.status for s in data.steps} == {PlanItemStatus.DROPPED}
        assert other.id in {s.id for s in data.steps}


async def test_the_next_step_is_the_earliest_dated_and_undated_steps_come_last(
    database: Database, clock: ManualClock
) -> None:
    _mentor_id, pid = await mentor_and_participant(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        for text, due in (("c", None), ("b", date(2026, 3, 1)), ("a", date(2026, 2, 1))):
            await plan.add_step(
                uow,
                participant,
                text,
                owner=StepOwner.MENTOR,
                due_on=due,
                goal_id=None,
                by=ChangedBy.system(),
                now=clock.now(),
            )
        data = await plan.plan_of(uow, pid)
    assert [s.text for s in data.open_steps] == ["a", "b", "c"]
    assert data.next_step is not None and data.next_step.text == "a"


async def test_a_check_in_asks_about_the_participants_own_due_step_at_most_weekly(
    database: Database, clock: ManualClock
) -> None:
    _mentor_id, pid = await mentor_and_participant(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        today = clock.now().astimezone(ZONE).date()
        for text, owner, due in (
            ("tomorrow", StepOwner.PARTICIPANT, today + timedelta(days=1)),
            ("the mentor's", StepOwner.MENTOR, today - timedelta(days=3)),
            ("due today", StepOwner.PARTICIPANT, today),
            ("overdue", StepOwner.PARTICIPANT, today - timedelta(days=2)),
        ):
            await plan.add_step(
                uow,
                participant,
                text,
                owner=owner,
                due_on=due,
                goal_id=None,
                by=ChangedBy.system(),
                now=clock.now(),
            )
        asked = await plan.due_plan_step(uow, pid, clock.now(), ZONE)
        assert asked is not None and asked.text == "overdue"
        answered = await plan.answer_step(
            uow, participant, asked.id, StepAnswer.NOT_YET, clock.now()
        )
        assert answered is not None and answered.status is PlanItemStatus.OPEN
        # "Not yet" this week: next the one due today, and the overdue one not for a week.
        following = await plan.due_plan_step(uow, pid, clock.now(), ZONE)
        assert following is not None and following.text == "due today"
        plan.mark_asked(following, clock.now())
        assert await plan.due_plan_step(uow, pid, clock.now(), ZONE) is None
        clock.advance(timedelta(days=7))
        again = await plan.due_plan_step(uow, pid, clock.now(), ZONE)
        assert again is not None and again.text == "overdue"
        done = await plan.answer_step(uow, participant, again.id, StepAnswer.DONE, clock.now())
        assert done is not None and done.status is PlanItemStatus.DONE
        # A step that is done, or someone else's, is not answered again.
        assert (
            await plan.answer_step(uow, participant, again.id, StepAnswer.DONE, clock.now()) is None
        )
        await uow.commit()


async def test_no_step_is_asked_about_once_the_contact_has_ended(
    database: Database, clock: ManualClock
) -> None:
    _mentor_id, pid = await mentor_and_participant(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        step = await plan.add_step(
            uow,
            participant,
            "overdue",
            owner=StepOwner.PARTICIPANT,
            due_on=date(2026, 1, 1),
            goal_id=None,
            by=ChangedBy.system(),
            now=clock.now(),
        )
        await lifecycle.leave(
            uow, participant, EndedReason.MOVED, by=ChangedBy.system(), now=clock.now(), rhythm=None
        )
        assert await plan.due_plan_step(uow, pid, clock.now(), ZONE) is None
        assert (
            await plan.answer_step(uow, participant, step.id, StepAnswer.DONE, clock.now()) is None
        )
        assert not plan.editable(participant)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-03-15", date(2026, 3, 15)),
        ("15/3", date(2026, 3, 15)),
        ("15.3", date(2026, 3, 15)),
        ("15/3 2027", date(2027, 3, 15)),
        ("15/3/27", date(2027, 3, 15)),
        ("3/1", date(2027, 1, 3)),  # the 3rd of January has passed: next year's
        ("5/1", date(2026, 1, 5)),  # today is allowed
        ("31/2", DateProblem.UNREADABLE),
        ("next week", DateProblem.UNREADABLE),
        ("2025-12-31", DateProblem.PAST),
        ("2030-01-01", DateProblem.TOO_FAR),
    ],
)
def test_due_dates_are_read_day_before_month_as_in_sweden(
    typed: str, expected: date | DateProblem
) -> None:
    assert plan.parse_due(typed, date(2026, 1, 5)) == expected


async def test_the_journey_is_part_of_the_participants_data_and_erasing_removes_the_words(
    database: Database, clock: ManualClock
) -> None:
    mentor_id, pid = await mentor_and_participant(database, clock)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        mentor = await uow.mentors.get(mentor_id)
        assert participant is not None and mentor is not None
        goal = await plan.add_goal(
            uow, participant, "Klara SFI D", by=ChangedBy.mentor(mentor), now=clock.now()
        )
        await plan.add_step(
            uow,
            participant,
            "Anmäla mig till SFI",
            owner=StepOwner.SFI,
            due_on=date(2026, 1, 20),
            goal_id=goal.id,
            by=ChangedBy.mentor(mentor),
            now=clock.now(),
        )
        await lifecycle.leave(
            uow,
            participant,
            EndedReason.STUDIES,
            by=ChangedBy.mentor(mentor),
            now=clock.now() + timedelta(days=1),
            rhythm=None,
        )
        mine = await journey.export(uow, participant)
        assert mine["status"] == "follow_up" and mine["left_for"] == "studies"
        assert [h["to"] for h in mine["status_history"]] == ["active", "follow_up"]
        assert mine["plan"]["goals"][0]["text"] == "Klara SFI D"
        assert mine["plan"]["goals"][0]["steps"][0] == {
            "text": "Anmäla mig till SFI",
            "who": "sfi",
            "due": "2026-01-20",
            "status": "open",
            "added": clock.now().isoformat(),
        }
        assert [e["what"] for e in mine["plan"]["history"]] == ["goal_added", "step_added"]
        assert [q["months"] for q in mine["follow_up"]] == [3, 6]

        await journey.erase(uow, participant)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.get(pid)
        assert participant is not None
        after = await journey.export(uow, participant)
        assert after["plan"] == {"goals": [], "steps_without_goal": [], "history": []}
        assert len(after["status_history"]) == 2  # counted anonymously, no words in it
        assert {q["asked"] for q in after["follow_up"]} == {None}
        assert participant.status is ParticipantStatus.FOLLOW_UP


def test_dates_in_the_check_in_question_are_local_days() -> None:
    # 23:30 UTC on 31 January is already 1 February in Stockholm.
    assert plan.local_today(datetime(2026, 1, 31, 23, 30, tzinfo=UTC), ZONE) == date(2026, 2, 1)
