"""The action plan through the real bot: a mentor writes it, the participant reads it, the
weekly check-in asks about the step that is due, and only the own mentor may touch it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import ActorKind, PlanEvent, PlanEventKind, PlanItemStatus, PlanStep
from tests.e2e.harness import Stack
from tests.e2e.journey import edited
from tests.e2e.people import join, participant, tick

AMINA = 7001
JONAS = 7002
# Monday 12 January 2026, 10:00 in Stockholm: the week after joining.
SECOND_MONDAY = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


async def test_a_plan_step_is_asked_in_the_checkin_and_marked_done(stack: Stack) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en", "sv"])
    amina = await stack.person(AMINA, "Amina", "en")
    alex = await join(stack, 530, "Alex", "en", amina_id)
    public_id = (await participant(stack, 530)).public_id

    await amina.command("plan", public_id)
    empty = await amina.expect(f"Plan for {public_id} (Alex)", "No goals or steps yet.")
    await amina.press("+ Goal", message=empty)
    await amina.expect("Write the goal in a few words")
    await amina.say("A job in a warehouse")
    with_goal = await amina.expect("✓ Goal added.", "🎯 A job in a warehouse")
    await amina.press("+ Step", message=with_goal)
    await amina.expect("Which goal is the step for?")
    await amina.press("A job in a warehouse")
    await amina.expect("Who does the step?")
    await amina.press("The participant")
    await amina.expect("By when?")
    await amina.press("In a week")
    await amina.expect("Write the step in a few words")
    await amina.say("Apply for the forklift course")
    plan = await amina.expect("✓ Step added.")
    assert "1. Apply for the forklift course – The participant, by Monday 12 January" in plan.body

    await alex.command("plan")
    mine = await alex.expect("Your plan")
    assert mine.body.splitlines()[1:4] == [
        "",
        "Next step: Apply for the forklift course",
        "You · by Monday 12 January",
    ]

    await tick(stack)  # Alex gets a check-in schedule: Mondays at 10:00
    stack.clock.set(SECOND_MONDAY)
    await tick(stack)
    question = await alex.expect("Time for your check-in.")
    await alex.press("Good", message=question)
    activities = await alex.expect("What did you do for work or studies this week?")
    await alex.press("Nothing this week", message=activities)
    await edited(alex, activities.id, "Nothing this week")
    await alex.press("Done", message=activities)
    await alex.press("No, thank you")
    asked = await alex.expect("In your plan, this step was due: Apply for the forklift course")
    assert asked.button_labels == ["Yes, done", "Not yet", "I need help"]
    await alex.press("Yes, done", message=asked)
    await alex.expect("Well done! I have marked it as done in your plan.")
    news = await amina.expect(f"{public_id} has done a step in their plan")
    assert "Apply for the forklift course" in news.body

    async with stack.database.session() as session:
        (step,) = (await session.scalars(select(PlanStep))).all()
        assert step.status is PlanItemStatus.DONE
        events = (await session.scalars(select(PlanEvent).order_by(PlanEvent.id))).all()
        assert [(e.kind, e.actor, e.mentor_id) for e in events] == [
            (PlanEventKind.GOAL_ADDED, ActorKind.MENTOR, amina_id),
            (PlanEventKind.STEP_ADDED, ActorKind.MENTOR, amina_id),
            (PlanEventKind.STEP_CLOSED, ActorKind.PARTICIPANT, None),
        ]
    # The button cannot be pressed twice: the step is done.
    press = await alex.forge(asked.button_data("Yes, done"), message=asked)
    assert await alex.expect_answer(press) == "This button no longer works."


async def test_a_mentor_changes_and_closes_steps_and_every_change_is_kept(stack: Stack) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en"])
    amina = await stack.person(AMINA, "Amina", "en")
    await join(stack, 531, "Alex", "en", amina_id)
    public_id = (await participant(stack, 531)).public_id
    await amina.command("plan", public_id)
    empty = await amina.expect("No goals or steps yet.")
    await amina.press("+ Step", message=empty)
    await amina.press("Social services")
    await amina.expect("By when?")
    await amina.say("31/1")
    await amina.expect("Write the step in a few words")
    await amina.say("Decide on the housing support")
    plan = await amina.expect("✓ Step added.")
    assert "Social services, by Saturday 31 January" in plan.body

    await amina.press("1. Decide on the housing support", message=plan)
    card = await edited(amina, plan.id, "Step: Decide on the housing support")
    await amina.press("Change the date", message=card)
    await amina.expect("By when?")
    await amina.say("2025-12-01")
    await amina.expect("That day has passed. Choose a later one.")
    await amina.say("14/2")
    changed = await amina.expect("✓ Changed.", "When: by Saturday 14 February")
    await amina.press("Drop it", message=changed)
    await edited(amina, changed.id, "Status: dropped")

    async with stack.database.session() as session:
        events = (await session.scalars(select(PlanEvent).order_by(PlanEvent.id))).all()
        assert [e.kind for e in events] == [
            PlanEventKind.STEP_ADDED,
            PlanEventKind.STEP_CHANGED,
            PlanEventKind.STEP_CLOSED,
        ]
        assert events[1].change == {"due": ["2026-01-31", "2026-02-14"]}


async def test_only_the_own_mentor_sees_and_changes_a_plan(stack: Stack) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en"])
    await stack.mentor(name="Jonas Berg", telegram_user_id=JONAS, languages=["en"])
    amina = await stack.person(AMINA, "Amina", "en")
    jonas = await stack.person(JONAS, "Jonas", "en")
    alex = await join(stack, 532, "Alex", "en", amina_id)
    public_id = (await participant(stack, 532)).public_id
    await amina.command("plan", public_id)
    empty = await amina.expect("No goals or steps yet.")
    await amina.press("+ Goal", message=empty)
    await amina.say("Finish SFI D")
    plan = await amina.expect("✓ Goal added.")

    await jonas.command("plan", public_id)
    refusal = await jonas.expect(f"I can't find a participant {public_id} among yours.")
    # Jonas forges Amina's buttons; a participant forges a mentor's button.
    for data in (plan.button_data("+ Step"), plan.button_data("Finish SFI D")):
        press = await jonas.forge(data, message=refusal)
        assert await jonas.expect_answer(press) == "This button no longer works."
    await alex.command("plan")
    mine = await alex.expect("Your plan")
    press = await alex.forge(plan.button_data("+ Goal"), message=mine)
    assert await alex.expect_answer(press) == "This button no longer works."
    async with stack.database.session() as session:
        assert len((await session.scalars(select(PlanEvent))).all()) == 1
