"""Bad input gets a short translated answer and leaves the stored state as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import Conversation, InboxUpdate, Invite, Participant
from tests.e2e.harness import Person, Stack


async def state(stack: Stack) -> dict[str, Any]:
    """What a participant would lose if bad input damaged it."""
    async with stack.database.session() as session:
        conversations = (await session.scalars(select(Conversation))).all()
        people = (await session.scalars(select(Participant))).all()
        invites = (await session.scalars(select(Invite))).all()
        return {
            "conversations": sorted(
                (c.telegram_user_id, c.flow, c.step, str(c.data), c.locale) for c in conversations
            ),
            "participants": sorted((p.public_id, p.locale, p.status) for p in people),
            "invites": sorted((i.code, i.used_at is not None) for i in invites),
        }


def text_update(update_id: int, user_id: int, name: str, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10_000 + update_id % 1000,
            "date": 1767600000,
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": {"id": user_id, "is_bot": False, "first_name": name, "language_code": "sv"},
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


async def joined(stack: Stack, user_id: int, name: str) -> Person:
    code = await stack.invite()
    person = await stack.person(user_id, name, "sv")
    await person.command("start", code)
    await person.press("Svenska")
    await person.press("Ja, jag godkänner")
    await person.expect("Välkommen")
    return person


async def test_a_sticker_where_a_button_is_expected_asks_again(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(601, "Sara", "sv")
    await sara.command("start", code)
    await sara.press("Svenska")
    await sara.expect("Så hanterar vi dina uppgifter")
    before = await state(stack)

    await sara.sticker()
    await sara.expect("Välj en av knapparna.")
    again = await sara.expect("Så hanterar vi dina uppgifter")
    assert "Ja, jag godkänner" in again.button_labels
    await sara.say("ja")
    await sara.expect("Välj en av knapparna.")
    await stack.client.send_voice(601, b"OggS-not-really")
    await sara.expect("Välj en av knapparna.")
    assert await state(stack) == before

    await sara.press("Ja, jag godkänner", message=again)
    await sara.expect("Välkommen, Sara!")


async def test_an_unknown_command_gets_a_translated_answer(stack: Stack) -> None:
    await stack.cohort()
    sara = await joined(stack, 602, "Sara")
    before = await state(stack)
    await sara.command("fika")
    await sara.expect("Det kommandot känner jag inte till.")
    visitor = await stack.person(603, "Omar", "ar")
    await visitor.command("fika")
    await visitor.expect("لا أعرف هذا الأمر.")
    assert await state(stack) == before


async def test_text_longer_than_telegram_allows_is_refused_kindly(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(604, "Sara", "sv")
    await sara.command("start", code)
    await sara.expect("Välj ditt språk")
    before = await state(stack)
    await sara._mark()
    await stack.deliver_raw(text_update(880001, 604, "Sara", "x" * 5000))
    await sara.expect("Meddelandet är för långt för mig.")
    assert await state(stack) == before


async def test_forged_button_data_changes_nothing(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(605, "Sara", "sv")
    await sara.command("start", code)
    picker = await sara.expect("Välj ditt språk")
    before = await state(stack)

    for data in ("onb:consent:yes", "onb:lang:de", "zzz", "onb:lang:sv:extra:" + "9" * 40, ""):
        press = await sara.forge(data, message=picker)
        assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await state(stack) == before

    # A visitor who never opened an invite cannot agree for someone else's invite.
    mallory = await stack.person(606, "Mallory", "sv")
    await mallory.command("menu")
    menu = await mallory.expect("Stegvis är till för deltagare")
    press = await mallory.forge("onb:consent:yes", message=menu)
    assert await mallory.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await state(stack) == before


async def test_a_second_start_with_another_code_keeps_both_invites_as_they_were(
    stack: Stack,
) -> None:
    await stack.cohort()
    sara = await joined(stack, 607, "Sara")
    other = await stack.invite()
    before = await state(stack)
    await sara.command("start", other)
    await sara.expect("Du är redan med i projektet, så du behöver ingen ny inbjudan.")
    assert await state(stack) == before


async def test_an_old_button_pressed_after_joining_does_nothing(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(608, "Sara", "sv")
    await sara.command("start", code)
    await sara.press("Svenska")
    notice = await sara.expect("Så hanterar vi dina uppgifter")
    await sara.press("Ja, jag godkänner", message=notice)
    await sara.expect("Välkommen")
    before = await state(stack)
    press = await sara.forge("onb:consent:no", message=notice)
    await sara.expect_answer(press)
    assert await state(stack) == before


async def test_an_update_stored_before_a_crash_is_handled_after_the_restart(
    stack: Stack,
) -> None:
    await stack.cohort()
    sara = await joined(stack, 609, "Sara")
    await stack.stop_bot()
    # As if the process died right after writing the update to its inbox.
    payload = text_update(990001, 609, "Sara", "/menu")
    async with stack.database.session() as session, session.begin():
        session.add(
            InboxUpdate(
                update_id=990001, chat_id=609, payload=payload, received_at=stack.clock.now()
            )
        )
    await sara._mark()
    await stack.start_bot()
    await sara.expect("Vad vill du göra?")
    async with stack.database.session() as session:
        assert await session.get(InboxUpdate, 990001) is None
