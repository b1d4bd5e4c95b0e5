"""Joining the project through the real bot and the Bot API emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.models import ConsentRefusal, Conversation, InviteKind, Mentor, Participant
from tests.e2e.harness import Stack

MENTOR_TELEGRAM_ID = 7001


async def participants(stack: Stack) -> list[Participant]:
    async with stack.database.session() as session:
        return list((await session.scalars(select(Participant))).all())


async def count(stack: Stack, model: type) -> int:
    async with stack.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_participant_joins_in_swedish_and_the_mentor_is_told(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=MENTOR_TELEGRAM_ID)
    code = await stack.invite(mentor_id=mentor_id)
    mentor = await stack.person(MENTOR_TELEGRAM_ID, "Amina")
    sara = await stack.person(501, "Sara", "sv")

    await sara.command("start", code)
    picker = await sara.expect(
        "Välj ditt språk", "يُرجى اختيار اللغة", "Please choose your language"
    )
    assert picker.button_labels == ["Svenska", "العربية", "English"]

    await sara.press("Svenska")
    notice = await sara.expect("Så hanterar vi dina uppgifter")
    assert "12 månader" in notice.body
    assert "/mydata" in notice.body and "/delete" in notice.body
    assert notice.button_labels == ["Ja, jag godkänner", "Nej tack", "Berätta mer"]
    chosen = next(m for m in await sara.bot_messages() if m.id == picker.id)
    assert chosen.body == "✓ Svenska" and not chosen.buttons

    await sara.press("Berätta mer")
    await sara.expect("Det här sparar vi")

    await sara.press("Ja, jag godkänner", message=notice)
    welcome = await sara.expect("Välkommen, Sara! Din mentor heter Amina.")
    assert "Byt språk" in welcome.button_labels

    news = await mentor.expect("Ny deltagare")
    (joined,) = await participants(stack)
    assert joined.public_id in news.body and "Lumena vår" in news.body
    assert (joined.locale, joined.mentor_id, joined.telegram_user_id) == ("sv", mentor_id, 501)
    assert await count(stack, Conversation) == 0


@pytest.mark.parametrize(
    ("months", "plural"),
    [
        (12, "بعد 12 شهرًا من مغادرة المشروع"),
        (2, "بعد شهرين من مغادرة المشروع"),
        (3, "بعد 3 أشهر من مغادرة المشروع"),
    ],
)
async def test_a_participant_joins_in_arabic_with_the_right_plural(
    stack: Stack, months: int, plural: str
) -> None:
    await stack.stop_bot()
    stack.settings = stack.settings.model_copy(update={"retention_months": months})
    await stack.start_bot()
    await stack.cohort()
    mentor_id = await stack.mentor(name="Amina Haddad", languages=["ar", "sv"])
    code = await stack.invite(mentor_id=mentor_id)
    omar = await stack.person(502, "Omar", "ar")

    await omar.command("start", code)
    await omar.expect("يُرجى اختيار اللغة")
    await omar.press("العربية")
    notice = await omar.expect("كيف نتعامل مع بياناتك")
    assert plural in notice.body
    assert notice.button_labels == ["نعم، أوافق", "لا، شكرًا", "المزيد من المعلومات"]
    await omar.press("نعم، أوافق")
    welcome = await omar.expect("أهلًا وسهلًا يا Omar!")
    assert "اسم مرشدك: Amina" in welcome.body
    (joined,) = await participants(stack)
    assert joined.locale == "ar"


async def test_declining_keeps_only_the_refusal_and_the_invite_stays_open(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    lina = await stack.person(503, "Lina", "en")

    await lina.command("start", code)
    await lina.press("English")
    await lina.expect("How we handle your data")
    await lina.press("No, thank you")
    await lina.expect("We have not saved anything about you")
    assert await participants(stack) == []
    assert await count(stack, Conversation) == 0
    assert await count(stack, ConsentRefusal) == 1

    await lina.command("start", code)
    await lina.expect("Please choose your language")


async def test_a_restart_in_the_middle_of_joining_resumes_where_the_participant_was(
    stack: Stack,
) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(504, "Sara", "sv")
    await sara.command("start", code)
    await sara.press("Svenska")
    notice = await sara.expect("Så hanterar vi dina uppgifter")

    await stack.stop_bot()
    # While the bot is down, the participant agrees; the update waits at Telegram.
    await sara.press("Ja, jag godkänner", message=notice)
    await stack.start_bot()

    await sara.expect("Välkommen, Sara!")
    (joined,) = await participants(stack)
    assert joined.locale == "sv"


async def test_a_mentors_own_invite_makes_that_telegram_user_a_mentor(stack: Stack) -> None:
    mentor_id = await stack.mentor(name="Jonas Berg", languages=["sv"])
    code = await stack.invite(cohort=None, mentor_id=mentor_id, kind=InviteKind.MENTOR)
    jonas = await stack.person(505, "Jonas", "sv")

    await jonas.command("start", code)
    await jonas.expect("Välkommen, Jonas! Nu är du mentor i Stegvis.")
    async with stack.database.session() as session:
        mentor = await session.get(Mentor, mentor_id)
        assert mentor is not None and mentor.telegram_user_id == 505
    await jonas.command("start", code)
    await jonas.expect("Du är redan registrerad som mentor.")


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("unknown", "Jag hittar inte den här inbjudan."),
        ("used", "Den här inbjudan har redan använts."),
        ("expired", "Den här inbjudan gäller inte längre."),
    ],
)
async def test_an_unknown_used_or_expired_invite_gets_a_clear_answer(
    stack: Stack, problem: str, expected: str
) -> None:
    await stack.cohort()
    code = await stack.invite(valid_for=timedelta(days=1))
    if problem == "unknown":
        code = "ZZZZ9999"
    elif problem == "expired":
        stack.clock.advance(timedelta(days=2))
    elif problem == "used":
        first = await stack.person(506, "Först", "sv")
        await first.command("start", code)
        await first.press("Svenska")
        await first.press("Ja, jag godkänner")
        await first.expect("Välkommen")
    visitor = await stack.person(507, "Kim", "sv")
    await visitor.command("start", code)
    await visitor.expect(expected)
    assert await count(stack, Conversation) == 0


async def test_changing_language_after_joining(stack: Stack) -> None:
    await stack.cohort()
    code = await stack.invite()
    sara = await stack.person(508, "Sara", "sv")
    await sara.command("start", code)
    await sara.press("Svenska")
    await sara.press("Ja, jag godkänner")
    await sara.expect("Välkommen")

    await sara.command("language")
    await sara.expect("Vilket språk vill du att jag skriver på?")
    await sara.press("العربية")
    await sara.expect("حسنًا، سأكتب بالعربية من الآن فصاعدًا.")
    await sara.command("menu")
    await sara.expect("كيف يمكننا المساعدة؟")
    (joined,) = await participants(stack)
    assert joined.locale == "ar"


async def test_the_command_list_is_published_in_each_language(stack: Stack) -> None:
    await stack.person(509, "Sara", "sv")
    commands = dict(await stack.client.commands_for(509))
    assert commands["language"] == "byt språk"
    await stack.person(510, "Omar", "ar")
    assert dict(await stack.client.commands_for(510))["language"] == "تغيير اللغة"
