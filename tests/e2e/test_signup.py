"""Open sign-up through the real bot: applying, waiting, approval by a mentor, a kind no."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import (
    Application,
    ApplicationDecision,
    ParticipantStatus,
    SignupDraft,
)
from tests.e2e.harness import Stack
from tests.e2e.journey import edited, lifecycle_of, participant_of, sign_up_in_english

EVA = 7100  # a coordinator
AMINA = 7001  # a mentor who writes Arabic and Swedish
JONAS = 7002  # a mentor who writes only Swedish


async def test_an_english_sign_up_is_approved_by_a_coordinator_and_the_mentor_is_told(
    stack: Stack,
) -> None:
    await stack.cohort()
    await stack.mentor("Eva Lind", ["sv"], telegram_user_id=EVA, is_coordinator=True)
    await stack.mentor("Jonas Berg", ["sv"], telegram_user_id=JONAS)
    await stack.mentor("Amina Haddad", ["en", "sv"], telegram_user_id=AMINA, caseload_limit=3)
    eva = await stack.person(EVA, "Eva", "sv")
    amina = await stack.person(AMINA, "Amina", "sv")
    lina = await stack.person(720, "Lina", "en")

    sent = await sign_up_in_english(lina, topics=("Housing", "Work"))
    assert "within 5 working days" in sent.body
    applicant = await participant_of(stack, 720)
    assert applicant.status is ParticipantStatus.APPLIED and applicant.mentor_id is None

    await eva.expect(applicant.public_id)
    await eva.command("pending")
    card = await eva.expect(f"Application {applicant.public_id}")
    assert "Lina" in card.body and "Work, Housing" in card.body
    await eva.press("Approve", message=card)

    welcome = await lina.expect("Welcome, Lina!")
    assert "Your mentor is Amina." in welcome.body
    news = await amina.expect("New participant")
    assert applicant.public_id in news.body and "Lumena vår" in news.body
    await edited(eva, card.id, "Approved", "Amina Haddad")
    joined = await participant_of(stack, 720)
    assert joined.status is ParticipantStatus.ACTIVE
    assert [e.to_status for e in await lifecycle_of(stack, joined.id)] == [
        ParticipantStatus.APPLIED,
        ParticipantStatus.ACTIVE,
    ]


async def test_an_applicant_cannot_apply_twice_and_sees_their_status(stack: Stack) -> None:
    await stack.cohort()
    lina = await stack.person(721, "Lina", "en")
    await sign_up_in_english(lina)
    await lina.command("start")
    status = await lina.expect("Your application has been sent. We are looking for a mentor")
    assert "My application" in status.button_labels
    await lina.command("menu")
    menu = await lina.expect("What would you like to do?")
    assert menu.button_labels == ["My application", "Withdraw my application", "Change language"]
    await lina.press("My application", message=menu)
    await lina.expect("within 5 working days")
    async with stack.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Application)) == 1


async def test_a_decline_is_kind_says_where_else_to_turn_and_erases_the_name(
    stack: Stack,
) -> None:
    await stack.cohort()
    await stack.mentor("Eva Lind", ["sv"], telegram_user_id=EVA, is_coordinator=True)
    eva = await stack.person(EVA, "Eva", "sv")
    kim = await stack.person(722, "Kim", "en")
    await sign_up_in_english(kim, name="Kim")
    await eva.command("pending")
    card = await eva.expect("Application")
    await eva.press("Decline", message=card)
    confirm = await edited(eva, card.id, "Decline this application?")
    await eva.press("Yes, decline", message=confirm)

    no = await kim.expect("Thank you for your application.")
    assert "It says nothing about you as a person." in no.body
    assert "Arbetsförmedlingen" in no.body and "1177" in no.body
    await edited(eva, card.id, "Declined")
    gone = await participant_of(stack, 722)
    assert (gone.status, gone.display_name, gone.ended_reason) == (
        ParticipantStatus.ENDED,
        None,
        "declined",
    )
    # Coming back soon after: the answer stands, and when they may apply again.
    await kim.command("start")
    await kim.expect("The project answered your application on")


async def test_a_flood_of_sign_ups_from_one_account_is_refused_kindly(stack: Stack) -> None:
    mallory = await stack.person(723, "Mallory", "en")
    for attempt in range(3):
        await sign_up_in_english(mallory, name="Mallory", again=attempt > 0)
        await mallory.command("menu")
        await mallory.press("Withdraw my application")
        await mallory.press("Yes, withdraw it")
        await mallory.expect("Your application is withdrawn")
    await mallory.command("start")
    await mallory.expect("You have no application waiting.")
    await mallory.press("Sign up")
    refusal = await mallory.expect("You have started to sign up many times today.")
    assert "112" in refusal.body
    async with stack.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Application)) == 3
    stack.clock.advance(timedelta(hours=25))
    await mallory.command("start")
    await mallory.press("Sign up")
    await mallory.expect("Please choose your language")


async def test_an_intake_left_halfway_resumes_where_it_was(stack: Stack) -> None:
    lina = await stack.person(725, "Lina", "en")
    await lina.command("start")
    await lina.press("English")
    await lina.press("Yes, I agree")
    await lina.expect("What should we call you?")
    await lina.press("Lina")
    await lina.expect("Where do you live?")
    await stack.restart_bot()
    await lina.command("start")
    await lina.expect("Welcome back! Let's continue where you were.")
    await lina.expect("Where do you live?")
    await lina.press("Another place")
    await lina.say("Ronna")
    await lina.expect("What do you want help with?")
    async with stack.database.session() as session:
        draft = await session.get(SignupDraft, 725)
        assert draft is not None
        assert (draft.display_name, draft.area, draft.area_other) == ("Lina", "other", "Ronna")


async def test_an_applicant_withdraws_and_the_application_leaves_the_list(stack: Stack) -> None:
    await stack.cohort()
    lina = await stack.person(724, "Lina", "en")
    await sign_up_in_english(lina)
    await lina.command("menu")
    await lina.press("Withdraw my application")
    await lina.press("Yes, withdraw it")
    await lina.expect("Your application is withdrawn")
    async with stack.database.session() as session:
        (application,) = (await session.scalars(select(Application))).all()
        assert application.decision is ApplicationDecision.WITHDRAWN
