"""Requests for help under bad input and abuse: forged buttons, markup, floods, stickers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.models import Escalation, EscalationMessage, EscalationStatus, Sender
from tests.e2e.harness import Person, Stack
from tests.e2e.test_help import AMINA, join, project, run_jobs

NILS = 7201  # a mentor who was never told about the case
REFUSED = "Den här knappen fungerar inte längre."


async def cases_state(stack: Stack) -> list[tuple[Any, ...]]:
    async with stack.database.session() as session:
        rows = (await session.scalars(select(Escalation).order_by(Escalation.id))).all()
        return [
            (c.id, c.status, c.assigned_mentor_id, c.shared_at, c.resolved_at, c.category)
            for c in rows
        ]


async def shared_request(stack: Stack, person: Person, text: str) -> None:
    await person.command("help")
    await person.press("Något annat")
    await person.expect("Skriv med egna ord")
    await person.say(text)
    confirm = await person.expect("Det här får")
    await person.press("Ja, skicka", message=confirm)
    await person.expect("Skickat till")


async def test_forged_case_buttons_cannot_act_on_anyone_elses_request(stack: Stack) -> None:
    mentor_id, amina = await project(stack)
    await stack.mentor("Nils Ek", ["sv"], telegram_user_id=NILS)
    nils = await stack.person(NILS, "Nils", "sv")
    sara = await join(stack, 901, "Sara", "sv", mentor_id)
    await shared_request(stack, sara, "Jag behöver hjälp med en blankett")
    notice = await amina.expect("Hjälpärende #")
    ((case_id, *_),) = await cases_state(stack)
    before = await cases_state(stack)

    # A participant cannot take or close a case, not even their own.
    for data in (f"case:claim:{case_id}", f"case:done:{case_id}", f"case:reply:{case_id}"):
        press = await sara.forge(data)
        assert await sara.expect_answer(press) == REFUSED
    # A mentor who was never told about it cannot either; nor can malformed data.
    await nils.command("menu")
    await nils.expect("Vad vill du göra?")
    for data in (
        f"case:claim:{case_id}",
        f"case:done:{case_id}",
        f"case:reply:{case_id}",
        "case:claim:999",
        "case:claim:x",
        f"case:claim:{case_id}:2",
    ):
        press = await nils.forge(data)
        assert await nils.expect_answer(press) == REFUSED
    # Another participant cannot send, withhold or reopen Sara's request.
    lina = await join(stack, 902, "Lina", "sv", mentor_id)
    for data in (f"help:send:{case_id}", f"help:keep:{case_id}", f"help:reopen:{case_id}"):
        press = await lina.forge(data)
        assert await lina.expect_answer(press) == REFUSED
    assert await cases_state(stack) == before

    # Amina closes it; a press on the old notice after that changes nothing.
    await amina.press("Klart", message=notice)
    await amina.expect("Ärende #")
    closed = await cases_state(stack)
    press = await amina.press("Ta ärendet", message=notice)
    assert "redan klart" in (await amina.expect_answer(press) or "")
    assert await cases_state(stack) == closed


async def test_html_and_markdown_arrive_exactly_as_written(stack: Stack) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 903, "Sara", "sv", mentor_id)
    await shared_request(stack, sara, "<b>x</b> *x* _y_ [länk](http://example.org)")
    notice = await amina.expect("Hjälpärende #")
    assert "<b>x</b> *x* _y_ [länk](http://example.org)" in notice.body
    await stack.client.send_text(AMINA, "<i>hej</i> **hej** `kod`", reply_to=notice.id)
    answer = await sara.expect("Din mentor Amina:")
    assert answer.body == "Din mentor Amina:\n<i>hej</i> **hej** `kod`"
    styles = {"bold", "italic", "code", "pre", "text_link", "underline"}
    assert not [e for e in answer.entities if e["type"] in styles]
    assert not [e for e in notice.entities if e["type"] in styles]


async def test_a_flood_is_answered_kindly_once_and_nothing_is_lost(stack: Stack) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 904, "Sara", "sv", mentor_id)
    await shared_request(stack, sara, "Fråga om praktik")
    notice = await amina.expect("Hjälpärende #")
    await amina.press("Ta ärendet", message=notice)
    await sara.expect("Amina har läst ditt ärende")

    for n in range(1, 10):
        await stack.client.send_text(904, f"meddelande {n}")
    kind = await sara.expect("jag har fått alla dina meddelanden")
    # Updates of one chat are handled in order: once the sticker is answered, all are in.
    await sara.sticker()
    await sara.expect("Jag kan skicka vidare text")
    for n in range(1, 5):
        await amina.expect(f"meddelande {n}")
    async with stack.database.session() as session:
        stored = (
            await session.scalars(
                select(EscalationMessage).where(EscalationMessage.sender == Sender.PARTICIPANT)
            )
        ).all()
    assert [m.text for m in stored] == ["Fråga om praktik"] + [
        f"meddelande {n}" for n in range(1, 10)
    ]
    # One kind answer per minute, however many messages.
    bot_after = [m for m in await sara.bot_messages() if m.id > kind.id]
    assert not [m for m in bot_after if "alla dina meddelanden" in m.body]

    stack.clock.advance(timedelta(minutes=1, seconds=1))
    await run_jobs(stack)
    # Within the first minute five messages reached the mentor one by one (the request
    # and four more); the rest come together, once.
    digest = await amina.expect("meddelande 5", "meddelande 6", "meddelande 9")
    assert digest.body.startswith("Sara (")
    await run_jobs(stack)
    await sara.say("en sista fråga")
    await amina.expect("en sista fråga")
    copies = [m for m in await amina.bot_messages() if "meddelande 9" in m.body]
    assert len(copies) == 1


async def test_stickers_in_a_request_get_a_short_answer_and_change_nothing(stack: Stack) -> None:
    mentor_id, _amina = await project(stack)
    sara = await join(stack, 905, "Sara", "sv", mentor_id)
    await sara.command("help")
    await sara.press("Boende")
    await sara.expect("Skriv med egna ord")
    before = await cases_state(stack)
    await sara.sticker()
    await sara.expect("Jag kan skicka vidare text, bilder, röstmeddelanden och dokument.")
    assert await cases_state(stack) == before == []


async def test_a_resolved_request_can_be_reopened_within_a_week_only(stack: Stack) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 906, "Sara", "sv", mentor_id)
    await shared_request(stack, sara, "Hjälp med CV")
    notice = await amina.expect("Hjälpärende #")
    await amina.press("Klart", message=notice)
    done = await sara.expect("Amina har markerat ditt ärende som klart.")
    assert done.button_labels == ["Öppna mitt ärende igen"]
    stack.clock.advance(timedelta(days=6))
    await sara.press("Öppna mitt ärende igen", message=done)
    await sara.expect("Ditt ärende är öppet igen.")
    reopened = await amina.expect("Hjälpärende #")
    ((_, status, *_),) = await cases_state(stack)
    assert status is EscalationStatus.OPEN

    await amina.press("Klart", message=reopened)
    done = await sara.expect("Amina har markerat ditt ärende som klart.")
    stack.clock.advance(timedelta(days=8))
    await sara.press("Öppna mitt ärende igen", message=done)
    await sara.expect("Ärendet avslutades för mer än en vecka sedan.")
    ((_, status, *_),) = await cases_state(stack)
    assert status is EscalationStatus.RESOLVED


async def test_a_visitor_in_danger_gets_the_safety_lines_and_nothing_is_stored(
    stack: Stack,
) -> None:
    await stack.cohort()
    visitor = await stack.person(907, "Kim", "sv")
    await visitor.say("min pappa hotar att döda mig")
    safety = await visitor.expect("112")
    assert safety.body.startswith("Nytt meddelande från Stegvis.")
    assert "020-50 50 50" in safety.body
    await visitor.expect("Stegvis är till för deltagare")
    assert await cases_state(stack) == []


async def test_a_mentor_sees_open_requests_with_cases_and_a_participant_cannot(
    stack: Stack,
) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 908, "Sara", "sv", mentor_id)
    await amina.command("cases")
    await amina.expect("Inga öppna hjälpärenden just nu.")
    await shared_request(stack, sara, "Fråga om SFI")
    await amina.expect("Hjälpärende #")
    await amina.command("cases")
    listing = await amina.expect("Hjälpärenden:")
    assert "Något annat · Sara (" in listing.body and "ingen har tagit det" in listing.body
    await amina.press("Ta #", message=listing)
    await amina.expect("Du har tagit ärende")
    await amina.command("cases")
    listing = await amina.expect("Hjälpärenden:")
    assert "ditt" in listing.body
    assert [label.split(" #")[0] for label in listing.button_labels] == ["Svara", "Klart"]

    before = await cases_state(stack)
    await sara.command("cases")
    await sara.expect("Det här kommandot är till för mentorer.")
    assert await cases_state(stack) == before
