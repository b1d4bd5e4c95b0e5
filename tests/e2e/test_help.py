"""Asking for help and being answered, through the real bot and the Bot API emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from bot import sla
from bot.sandbox.client import ChatMessage
from storage.models import (
    Escalation,
    EscalationEvent,
    EscalationMessage,
    EscalationStatus,
    EventKind,
)
from tests.e2e.harness import Person, Stack

AMINA = 7101  # the participants' own mentor (Swedish and Arabic)
JONAS = 7102  # another mentor who speaks Arabic
LEILA = 7103  # a coordinator


async def join(stack: Stack, user_id: int, name: str, language: str, mentor_id: int) -> Person:
    code = await stack.invite(mentor_id=mentor_id)
    person = await stack.person(user_id, name, language)
    await person.command("start", code)
    await person.press({"sv": "Svenska", "ar": "العربية", "en": "English"}[language])
    await person.press(
        {"sv": "Ja, jag godkänner", "ar": "نعم، أوافق", "en": "Yes, I agree"}[language]
    )
    await person.expect({"sv": "Välkommen", "ar": "أهلًا وسهلًا", "en": "Welcome"}[language])
    return person


async def project(stack: Stack) -> tuple[int, Person]:
    await stack.cohort()
    mentor_id = await stack.mentor("Amina Haddad", ["sv", "ar"], telegram_user_id=AMINA)
    amina = await stack.person(AMINA, "Amina", "sv")
    return mentor_id, amina


async def the_cases(stack: Stack) -> list[Escalation]:
    async with stack.database.session() as session:
        return list((await session.scalars(select(Escalation).order_by(Escalation.id))).all())


async def events(stack: Stack, case_id: int) -> list[tuple[EventKind, int | None]]:
    async with stack.database.session() as session:
        rows = await session.scalars(
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == case_id)
            .order_by(EscalationEvent.id)
        )
        return [(row.kind, row.mentor_id) for row in rows]


async def test_a_swedish_housing_question_is_confirmed_and_answered_by_the_mentor(
    stack: Stack,
) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 801, "Sara", "sv", mentor_id)
    await amina.expect("Ny deltagare")

    await sara.command("help")
    topics = await sara.expect("Vad behöver du hjälp med?")
    assert topics.button_labels == [
        "Boende",
        "Ekonomi och skulder",
        "Våld eller hot",
        "Hälsa och vård",
        "Något annat",
    ]
    assert "/menu" in topics.body and "112" in topics.body
    await sara.press("Boende")
    await sara.expect("Skriv med egna ord")
    await sara.say("Hyresvärden har sagt upp mitt kontrakt, vad gör jag?")
    confirm = await sara.expect("Det här får Amina se:")
    assert "Ämne: Boende" in confirm.body
    assert "«Hyresvärden har sagt upp mitt kontrakt, vad gör jag?»" in confirm.body
    (case,) = await the_cases(stack)
    assert case.status is EscalationStatus.DRAFT
    # Nothing reaches the mentor before the participant says yes.
    assert not [m for m in await amina.bot_messages() if "hjälp" in m.body]

    await sara.press("Ja, skicka", message=confirm)
    sent = await sara.expect("Skickat till Amina.")
    assert "Socialtjänsten" in sent.body

    notice = await amina.expect("Hjälpärende #")
    assert "Från: Sara (" in notice.body
    assert "Ämne: Boende" in notice.body
    assert "Hyresvärden har sagt upp mitt kontrakt, vad gör jag?" in notice.body
    assert "“Hyresvärden”" in notice.body
    assert notice.button_labels == ["Ta ärendet", "Svara", "Klart"]

    await amina.press("Ta ärendet", message=notice)
    await amina.expect("Du har tagit ärende")
    await sara.expect("Amina har läst ditt ärende")

    await stack.client.send_text(
        AMINA, "Hej Sara! Vi ringer hyresvärden i morgon.", reply_to=notice.id
    )
    answer = await sara.expect("Din mentor Amina:")
    assert "Hej Sara! Vi ringer hyresvärden i morgon." in answer.body
    assert not answer.raw.get("forward_origin")
    await amina.expect("Skickat till Sara.")

    await sara.say("Tack! Vilken tid?")
    relayed = await amina.expect("Tack! Vilken tid?")
    assert "Sara (" in relayed.body

    (case,) = await the_cases(stack)
    assert case.status is EscalationStatus.CLAIMED
    assert case.assigned_mentor_id == mentor_id
    assert case.first_response_at is not None and case.shared_at is not None
    kinds = [kind for kind, _ in await events(stack, case.id)]
    assert kinds[:4] == [EventKind.CREATED, EventKind.SHARED, EventKind.NOTIFIED, EventKind.CLAIMED]
    assert EventKind.REPLIED in kinds and EventKind.RECEIVED in kinds


async def until(
    stack: Stack, chat_id: int, condition: Callable[[list[ChatMessage]], bool]
) -> list[ChatMessage]:
    """The chat once `condition` holds, waiting on the emulator's change notifications."""
    snapshot = await stack.client.snapshot(chat_id)
    deadline = asyncio.get_running_loop().time() + 10
    while not condition(snapshot.messages):
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, [m.body for m in snapshot.messages]
        snapshot = await stack.client.snapshot(
            chat_id, since_version=snapshot.version, wait=remaining
        )
    return snapshot.messages


async def run_jobs(stack: Stack) -> None:
    """What the SLA job does at its next tick, at the stack's (manual) time."""
    assert stack.runtime is not None
    await sla.run(stack.runtime.deps)
    stack.runtime.dispatcher.wake()


async def test_an_arabic_violence_disclosure_brings_safety_lines_and_an_immediate_page(
    stack: Stack,
) -> None:
    mentor_id, amina = await project(stack)
    omar = await join(stack, 802, "Omar", "ar", mentor_id)
    await amina.expect("Ny deltagare")

    await omar.say("زوجي عم يضربني كل يوم وهددني بالقتل")
    safety = await omar.expect("112")
    # A lock-screen preview shows only the neutral first line.
    assert safety.body.splitlines()[0] == "رسالة جديدة من Stegvis."
    assert "020-50 50 50" in safety.body and "Kvinnofridslinjen" in safety.body
    assert "تم إبلاغ Amina" in safety.body
    assert safety.button_labels == ["حذف هذه الرسائل من المحادثة"]

    page = await amina.expect("Brådskande hjälpärende #")
    assert page.body.splitlines()[0] == "Nytt meddelande från Stegvis."
    assert "Ämne: Våld eller hot" in page.body
    assert "“يضربني”" in page.body
    # Paged before the participant agreed: topic and matched words, not the message.
    assert "زوجي عم يضربني كل يوم" not in page.body
    assert "har inte sagt än om du får läsa själva meddelandet" in page.body

    ask = await omar.expect("هل تتم مشاركة ما كتبته مع Amina أيضًا؟")
    assert ask.body.splitlines()[0] == "رسالة جديدة من Stegvis."
    await omar.press("لا مانع", message=ask)
    await omar.expect("تم الإرسال إلى Amina.")
    message = await amina.expect("زوجي عم يضربني كل يوم وهددني بالقتل")
    assert message.body.splitlines()[0] == "Nytt meddelande från Stegvis."

    (case,) = await the_cases(stack)
    assert case.urgent and case.category.value == "violence"
    assert case.status is EscalationStatus.OPEN and case.shared_at is not None
    assert [kind for kind, _ in await events(stack, case.id)][:3] == [
        EventKind.CREATED,
        EventKind.NOTIFIED,
        EventKind.SHARED,
    ]

    # "Hide": the bot deletes its messages about the request, and the participant's own.
    press = await omar.press("حذف هذه الرسائل", message=safety)
    assert await omar.expect_answer(press) == "تم الحذف من المحادثة."

    def nothing_tells(chat: list[ChatMessage]) -> bool:
        visible = [m.body for m in chat if not m.deleted]
        return not any("يضربني" in body or "112" in body for body in visible)

    chat = await until(stack, 802, nothing_tells)
    assert any(m.id == safety.id and m.deleted for m in chat)
    # The case itself stays for the mentor.
    assert len(await the_cases(stack)) == 1


async def test_an_unclaimed_urgent_case_is_renotified_after_15_minutes_and_widened(
    stack: Stack,
) -> None:
    mentor_id, amina = await project(stack)
    jonas_id = await stack.mentor("Jonas Berg", ["ar", "sv"], telegram_user_id=JONAS)
    await stack.mentor("Leila Nasser", ["sv"], telegram_user_id=LEILA, is_coordinator=True)
    jonas = await stack.person(JONAS, "Jonas", "sv")
    leila = await stack.person(LEILA, "Leila", "sv")
    omar = await join(stack, 803, "Omar", "ar", mentor_id)

    await omar.say("بدي موت ما عاد فيني كمل")
    await omar.expect("90101")
    await amina.expect("Brådskande hjälpärende #")

    (case,) = await the_cases(stack)
    stack.clock.advance(timedelta(minutes=14))
    await run_jobs(stack)
    assert [who for kind, who in await events(stack, case.id) if kind is EventKind.NOTIFIED] == [
        mentor_id
    ]

    stack.clock.advance(timedelta(minutes=1))
    await run_jobs(stack)
    await amina.expect("Ingen har tagit ärendet än.")
    # Jonas speaks Arabic and reads Stegvis in Arabic.
    widened = await jonas.expect("وصلت هذه الرسالة لأن أحدًا لم يستلم الطلب في الوقت المحدد.")
    assert "طلب مساعدة عاجل رقم" in widened.body
    assert not [m for m in await leila.bot_messages() if "hjälpärende" in m.body]

    stack.clock.advance(timedelta(minutes=15))
    await run_jobs(stack)
    await leila.expect("Du får det här eftersom ingen har tagit ärendet i tid.")

    await jonas.press("استلام الطلب", message=widened)
    await jonas.expect("تم استلام الطلب رقم")
    await omar.expect("تم الاطّلاع على طلبك من قِبل Jonas")
    await amina.expect("Jonas har tagit ärende")

    stack.clock.advance(timedelta(minutes=30))
    await run_jobs(stack)
    (case,) = await the_cases(stack)
    assert case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id == jonas_id
    assert case.next_action_at is None
    told = [
        (kind, who)
        for kind, who in await events(stack, case.id)
        if kind in (EventKind.NOTIFIED, EventKind.REMINDED, EventKind.WIDENED, EventKind.CLAIMED)
    ]
    assert [kind for kind, _ in told] == [
        EventKind.NOTIFIED,  # Amina at once
        EventKind.NOTIFIED,  # Jonas after 15 minutes
        EventKind.WIDENED,
        EventKind.REMINDED,  # Amina again
        EventKind.NOTIFIED,  # Leila (coordinator) after 30 minutes
        EventKind.WIDENED,
        EventKind.REMINDED,  # Amina
        EventKind.REMINDED,  # Jonas
        EventKind.CLAIMED,
    ]


async def test_voice_messages_pass_both_ways_without_the_mentors_account(stack: Stack) -> None:
    mentor_id, amina = await project(stack)
    sara = await join(stack, 804, "Sara", "sv", mentor_id)
    await sara.command("help")
    await sara.press("Hälsa och vård")
    await sara.expect("Skriv med egna ord")
    await stack.client.send_voice(804, b"OggS-sara-voice", duration=7)
    confirm = await sara.expect("Det här får Amina se:")
    assert "[ett röstmeddelande]" in confirm.body
    await sara.press("Ja, skicka", message=confirm)
    notice = await amina.expect("Hjälpärende #")
    assert "[ett röstmeddelande, kommer i nästa meddelande]" in notice.body
    voice = await stack.client.wait_for_bot_message(
        AMINA, after_message_id=notice.id, predicate=lambda m: m.voice is not None
    )
    assert voice.caption is not None and voice.caption.startswith("Sara (")
    assert voice.voice is not None
    assert await stack.client.file_bytes(voice.voice) == b"OggS-sara-voice"

    await amina.press("Svara", message=notice)
    await amina.expect("Skriv ditt svar till Sara.")
    await stack.client.send_voice(AMINA, b"OggS-amina-voice", duration=12)
    await amina.expect("Skickat till Sara.")
    answer = await stack.client.wait_for_bot_message(
        804, after_message_id=confirm.id, predicate=lambda m: m.voice is not None
    )
    assert answer.caption == "Din mentor Amina:"
    assert answer.from_bot
    assert answer.voice is not None
    assert await stack.client.file_bytes(answer.voice) == b"OggS-amina-voice"
    async with stack.database.session() as session:
        kinds = [m.kind.value for m in (await session.scalars(select(EscalationMessage))).all()]
    assert kinds == ["voice", "voice"]
