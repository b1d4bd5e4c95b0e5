"""Leaving for work or studies through the real bot, on a manual clock: follow-up with
monthly check-ins, the 3- and 6-month questions, and ending the contact."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.jobs import journey_job
from storage.models import (
    ActorKind,
    FollowUpAnswer,
    FollowUpQuestion,
    FollowUpStatus,
    OutboxMessage,
    ParticipantStatus,
    Step,
    StepKind,
)
from tests.e2e.harness import Person, Stack
from tests.e2e.journey import edited, lifecycle_of
from tests.e2e.people import checkins_of, join, participant, tick

AMINA = 7001
JONAS = 7002
# Wednesday 7 January 2026, 14:00 in Stockholm.
LEFT_AT = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)


async def journey_tick(stack: Stack) -> None:
    """What the journey's periodic job does at its next tick in a running process."""
    assert stack.runtime is not None
    await journey_job().run(stack.runtime.deps)
    stack.runtime.dispatcher.wake()


async def leaves_for_work(stack: Stack, amina: Person, alex: Person, public_id: str) -> None:
    stack.clock.set(LEFT_AT)
    await amina.command("end", f"{public_id} work")
    confirm = await amina.expect(f"{public_id} leaves for work: they move to follow-up.")
    assert "the check-in comes once a month" in confirm.body
    await amina.press("Yes, do it", message=confirm)
    await amina.expect(f"✓ {public_id} is in follow-up now.")


async def test_leaving_for_work_brings_monthly_checkins_and_the_three_month_question(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en", "sv"])
    amina = await stack.person(AMINA, "Amina", "en")
    alex = await join(stack, 540, "Alex", "en", amina_id)
    public_id = (await participant(stack, 540)).public_id
    await tick(stack)  # a weekly schedule: Mondays at 10:00

    await leaves_for_work(stack, amina, alex, public_id)
    news = await alex.expect("Congratulations on your new job, Alex!")
    assert "Amina is still your mentor. The check-in now comes once a month" in news.body
    assert news.button_labels == ["End the contact"]

    stack.clock.set(datetime(2026, 1, 12, 9, 0, tzinfo=UTC))  # the next Monday: nothing
    await tick(stack)
    assert await checkins_of(stack, 540) == []
    stack.clock.set(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))  # the first Monday of February
    await tick(stack)
    await alex.expect("Time for your check-in.")
    (monthly,) = await checkins_of(stack, 540)
    assert monthly.due_at == datetime(2026, 2, 2, 9, 0, tzinfo=UTC)

    stack.clock.set(datetime(2026, 4, 7, 12, 59, tzinfo=UTC))  # a minute before 3 months
    await journey_tick(stack)
    stack.clock.set(datetime(2026, 4, 7, 13, 0, tzinfo=UTC))
    await journey_tick(stack)
    question = await alex.expect("Hi Alex! It is 3 months since you left the project.")
    assert question.button_labels == [
        "Yes, I work",
        "Yes, I study",
        "No, not now",
        "End the contact",
    ]
    await journey_tick(stack)  # asked once, however often the job runs
    await alex.press("Yes, I work", message=question)
    await alex.expect("Thank you, and good luck!")

    async with stack.database.session() as session:
        asked = (
            await session.scalars(select(FollowUpQuestion).order_by(FollowUpQuestion.months))
        ).all()
        assert [(q.months, q.status, q.answer) for q in asked] == [
            (3, FollowUpStatus.ANSWERED, FollowUpAnswer.WORK),
            (6, FollowUpStatus.SCHEDULED, None),
        ]
        sent = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.like("followup:%"))
            )
        ).all()
        assert len(sent) == 1
        (step,) = (await session.scalars(select(Step))).all()
        assert step.kind is StepKind.LEFT_FOR_WORK
    events = await lifecycle_of(stack, (await participant(stack, 540)).id)
    assert [(e.to_status, e.reason, e.actor, e.mentor_id) for e in events][-1] == (
        ParticipantStatus.FOLLOW_UP,
        "work",
        ActorKind.MENTOR,
        amina_id,
    )


async def test_the_participant_ends_the_contact_and_gets_nothing_scheduled_after(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en"])
    amina = await stack.person(AMINA, "Amina", "en")
    alex = await join(stack, 541, "Alex", "en", amina_id)
    public_id = (await participant(stack, 541)).public_id
    await alex.command("menu")
    menu = await alex.expect("What would you like to do?")
    assert "End the contact" in menu.button_labels
    assert "Check-in day and time" in menu.button_labels
    await leaves_for_work(stack, amina, alex, public_id)
    news = await alex.expect("Congratulations on your new job")

    await alex.press("End the contact", message=news)
    confirm = await alex.expect("Do you want to end the contact with the project?")
    await alex.press("Yes, end the contact", message=confirm)
    await alex.expect("Your contact with the project has now ended.")
    await amina.expect(f"{public_id} has ended the contact with the project themselves.")

    ended = await participant(stack, 541)
    assert (ended.status, ended.ended_reason) == (ParticipantStatus.ENDED, "work")
    assert [(e.to_status, e.reason, e.actor) for e in await lifecycle_of(stack, ended.id)] == [
        (ParticipantStatus.ACTIVE, None, ActorKind.PARTICIPANT),
        (ParticipantStatus.FOLLOW_UP, "work", ActorKind.MENTOR),
        (ParticipantStatus.ENDED, "own_wish", ActorKind.PARTICIPANT),
    ]
    # Months later nothing comes: no check-in, no question.
    stack.clock.set(datetime(2026, 7, 8, 9, 0, tzinfo=UTC))
    await tick(stack)
    await journey_tick(stack)
    assert await checkins_of(stack, 541) == []
    async with stack.database.session() as session:
        questions = (await session.scalars(select(FollowUpQuestion))).all()
        assert {q.status for q in questions} == {FollowUpStatus.CANCELLED}
    await alex.command("start")
    back = await alex.expect("Your contact with the project has ended.")
    assert back.button_labels == ["Sign up again"]
    # What no longer applies is neither offered nor opened.
    await alex.command("menu")
    menu = await alex.expect("What would you like to do?")
    assert menu.button_labels == [
        "Sign up again",
        "Ask for help",
        "My plan",
        "My data",
        "Change language",
    ]
    await alex.command("checkin")
    after = await alex.expect("What would you like to do?")
    assert "Check-in day and time" not in after.button_labels
    await alex.command("rating")
    await alex.expect("What would you like to do?")


async def test_no_longer_working_at_six_months_tells_the_mentor_who_can_take_them_back(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en"])
    amina = await stack.person(AMINA, "Amina", "en")
    alex = await join(stack, 542, "Alex", "en", amina_id)
    public_id = (await participant(stack, 542)).public_id
    await leaves_for_work(stack, amina, alex, public_id)
    stack.clock.set(datetime(2026, 7, 7, 13, 0, tzinfo=UTC))
    await journey_tick(stack)  # both questions are due; each is asked once
    three = await alex.expect("It is 3 months since you left the project.")
    six = await alex.expect("It is 6 months since you left the project.")
    await alex.press("Yes, I study", message=three)
    await alex.expect("Thank you, and good luck!")
    await alex.press("No, not now", message=six)
    await alex.expect("Your mentor is told and will get in touch with you.")
    news = await amina.expect(f"{public_id} answered after 6 months that they no longer work")
    assert f"/resume {public_id}" in news.body

    await amina.command("resume", public_id)
    await amina.expect(f"✓ {public_id} is back in the weekly support.")
    await alex.expect("Amina has taken you back into the project.")
    assert (await participant(stack, 542)).status is ParticipantStatus.ACTIVE


async def test_ending_is_for_the_own_mentor_only_and_bad_input_changes_nothing(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["en"])
    await stack.mentor(name="Jonas Berg", telegram_user_id=JONAS, languages=["en"])
    amina = await stack.person(AMINA, "Amina", "en")
    jonas = await stack.person(JONAS, "Jonas", "en")
    alex = await join(stack, 543, "Alex", "en", amina_id)
    public_id = (await participant(stack, 543)).public_id

    await alex.command("end", public_id)
    await alex.expect("This command is for mentors.")
    await jonas.command("end", f"{public_id} moved")
    refusal = await jonas.expect(f"I can't find a participant {public_id} among yours.")
    await amina.command("end", public_id)
    reasons = await amina.expect(f"Why does {public_id} leave?")
    assert reasons.button_labels == [
        "Work",
        "Studies",
        "Moved away",
        "Their own wish",
        "No contact",
        "Other reason",
    ]
    for person, data, message in (
        (jonas, reasons.button_data("Moved away").replace("why", "endok"), refusal),
        (alex, f"fu:endok:{(await participant(stack, 543)).id}:moved", None),
        (amina, "fu:endok:999999:moved", reasons),
        (amina, "fu:why:1:declined", reasons),
    ):
        press = await person.forge(data, message=message)
        assert await person.expect_answer(press) == "This button no longer works."
    assert (await participant(stack, 543)).status is ParticipantStatus.ACTIVE

    await amina.press("Moved away", message=reasons)
    confirm = await edited(amina, reasons.id, f"The contact with {public_id} ends (moved away).")
    await amina.press("Yes, do it", message=confirm)
    await amina.expect(f"✓ The contact with {public_id} has ended.")
    goodbye = await alex.expect("Your contact with the project has now ended.")
    assert "/mydata" in goodbye.body
    await amina.command("end", public_id)
    await amina.expect(f"The contact with {public_id} has ended already.")
