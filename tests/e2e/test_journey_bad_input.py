"""Bad input in sign-up, /pending and the plan: a short translated answer, nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import (
    Application,
    Conversation,
    LifecycleEvent,
    Participant,
    PlanEvent,
    SignupDraft,
)
from tests.e2e.harness import Stack
from tests.e2e.journey import edited, participant_of, sign_up_in_english
from tests.e2e.people import join, participant
from tests.e2e.test_bad_input import text_update

EVA = 7100
AMINA = 7001


async def stored(stack: Stack) -> dict[str, Any]:
    """What a person would lose if bad input damaged it."""
    async with stack.database.session() as session:
        drafts = (await session.scalars(select(SignupDraft))).all()
        return {
            "conversations": sorted(
                (c.telegram_user_id, c.flow, c.step, str(c.data))
                for c in (await session.scalars(select(Conversation))).all()
            ),
            "drafts": sorted(
                (d.telegram_user_id, d.display_name, d.area, d.area_other, tuple(d.topics))
                for d in drafts
            ),
            "participants": sorted(
                (p.public_id, p.status, p.mentor_id, p.display_name)
                for p in (await session.scalars(select(Participant))).all()
            ),
            "applications": sorted(
                (a.id, a.decision) for a in (await session.scalars(select(Application))).all()
            ),
            "events": len((await session.scalars(select(LifecycleEvent))).all()),
            "plan": len((await session.scalars(select(PlanEvent))).all()),
        }


async def test_stickers_long_names_and_forged_buttons_in_sign_up_change_nothing(
    stack: Stack,
) -> None:
    sara = await stack.person(740, "Sara", "sv")
    await sara.command("start")
    await sara.press("Svenska")
    await sara.press("Ja, jag godkänner")
    await sara.expect("Vad vill du att vi kallar dig?")
    before = await stored(stack)

    await sara.sticker()
    await sara.expect("Skriv det som text, tack.")
    await sara.say("x" * 41)
    await sara.expect("Skriv lite kortare, högst 40 tecken.")
    await sara.say("12345")
    await sara.expect("Skriv det med bokstäver, tack.")
    await sara._mark()
    await stack.deliver_raw(text_update(880101, 740, "Sara", "y" * 5000))
    await sara.expect("Meddelandet är för långt för mig.")
    latest = await stack.client.latest_bot_message(740)
    assert latest is not None
    for data in (
        "sig:area:nowhere",
        "sig:send",
        "sig:gender:alien",
        "sig:topic:work:extra",
        "sig:zz",
    ):
        press = await sara.forge(data, message=latest)
        assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await stored(stack) == before

    await sara.say("Sara")
    where = await sara.expect("Var bor du?")
    await sara.say("Södertälje")  # typing where a button is expected
    await sara.expect("Välj en av knapparna.")
    again = await sara.expect("Var bor du?")
    assert again.button_labels[:2] == ["Södertälje", "Nykvarn"]
    await sara.press("Södertälje", message=where)
    await sara.expect("Vad vill du ha hjälp med?")
    press = await sara.press("Klar")
    assert await sara.expect_answer(press) == "Välj minst en."


async def test_pending_is_for_mentors_and_their_languages_only(stack: Stack) -> None:
    await stack.cohort()
    await stack.mentor("Jonas Berg", ["sv"], telegram_user_id=7002)
    await stack.mentor("Amina Haddad", ["en"], telegram_user_id=AMINA)
    jonas = await stack.person(7002, "Jonas", "sv")
    lina = await stack.person(741, "Lina", "en")
    await sign_up_in_english(lina)
    before = await stored(stack)

    await lina.command("pending")
    await lina.expect("This command is for mentors.")
    # Jonas writes no English: the English application is not his to answer.
    await jonas.command("pending")
    nothing = await jonas.expect("Inga ansökningar väntar.")
    async with stack.database.session() as session:
        (application,) = (await session.scalars(select(Application))).all()
    for data in (f"pnd:ok:{application.id}", f"pnd:noyes:{application.id}", "pnd:ok:x"):
        press = await jonas.forge(data, message=nothing)
        assert await jonas.expect_answer(press) == "Den här knappen fungerar inte längre."
    # An applicant forging the mentor's approve button.
    status = await stack.client.latest_bot_message(741)
    press = await lina.forge(f"pnd:ok:{application.id}", message=status)
    assert await lina.expect_answer(press) == "This button no longer works."
    assert await stored(stack) == before


async def test_with_several_cohorts_approving_asks_which_and_a_second_answer_is_refused(
    stack: Stack,
) -> None:
    await stack.cohort("Lumena vår")
    await stack.cohort("Lumena höst")
    await stack.mentor("Eva Lind", ["en"], telegram_user_id=EVA, is_coordinator=True)
    eva = await stack.person(EVA, "Eva", "en")
    lina = await stack.person(742, "Lina", "en")
    await sign_up_in_english(lina)
    await eva.command("pending")
    card = await eva.expect("Application")
    await eva.press("Approve", message=card)
    which = await edited(eva, card.id, "Which group?")
    assert which.button_labels == ["Lumena höst", "Lumena vår", "Cancel"]
    await eva.press("Lumena höst", message=which)
    await lina.expect("Welcome, Lina!")
    joined = await participant_of(stack, 742)
    async with stack.database.session() as session:
        (application,) = (await session.scalars(select(Application))).all()
    before = await stored(stack)
    press = await eva.forge(f"pnd:noyes:{application.id}", message=which)
    assert await eva.expect_answer(press) == "This application has been answered already."
    assert await stored(stack) == before
    assert joined.cohort_id is not None


async def test_plan_text_that_is_too_long_or_not_text_is_refused_kindly(stack: Stack) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(telegram_user_id=AMINA, languages=["sv"])
    amina = await stack.person(AMINA, "Amina", "sv")
    await join(stack, 743, "Sara", "sv", amina_id)
    public_id = (await participant(stack, 743)).public_id
    await amina.command("plan", public_id)
    empty = await amina.expect(f"Plan för {public_id} (Sara)")
    await amina.press("+ Mål", message=empty)
    await amina.expect("Skriv målet med några ord")
    before = await stored(stack)
    await amina.say("m" * 201)
    await amina.expect("Skriv lite kortare, högst 200 tecken.")
    await amina.sticker()
    await amina.expect("Skriv det som text, tack.")
    await amina.command("plan", "PNOPE1")
    await amina.expect("Jag hittar ingen deltagare PNOPE1 bland dina.")
    assert await stored(stack) == {**before, "conversations": []}
