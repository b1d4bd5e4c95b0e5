"""Participant rights through the bot: /mydata shows everything, /delete erases it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, text

from bot.sandbox.client import ChatMessage
from storage.models import (
    AuditAction,
    AuditEvent,
    Checkin,
    Conversation,
    EscalationMessage,
    OutboxMessage,
    Participant,
    PlanGoal,
    Step,
)
from tests.e2e.harness import Person, Stack
from tests.e2e.people import join, participant

AMINA = 7001


async def a_participant_with_a_history(stack: Stack) -> tuple[Person, Person, Participant]:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=AMINA)
    amina = await stack.person(AMINA, "Amina", "sv")
    sara = await join(stack, 801, "Sara", "sv", mentor_id)
    me = await participant(stack, 801)

    await sara.say("Min hyresvärd vill vräka mig i nästa månad")
    confirm = await sara.expect("Det här får Amina se:")
    await sara.press("Ja, skicka", message=confirm)
    await amina.expect("Hjälpärende #")

    await amina.command("step", f"{me.public_id} internship 2026-01-04 Praktik på biblioteket")
    await amina.expect(f"Registrerat för {me.public_id}: Började praktik")
    when = (stack.clock.now() + timedelta(days=10)).strftime("%Y-%m-%d")
    await amina.command(
        "remind", f"{me.public_id} {when} 14:00 Arbetsförmedlingen | Ta med ID-kort"
    )
    await amina.expect("Sparat: möte med")
    async with stack.database.session() as session, session.begin():
        now = stack.clock.now()
        session.add(
            PlanGoal(
                participant_id=me.id, text="Börja på SFI i vår", created_at=now, updated_at=now
            )
        )
    return sara, amina, me


async def document(stack: Stack, message: ChatMessage) -> bytes:
    assert message.document is not None
    return await stack.client.file_bytes(message.document)


async def test_mydata_sends_everything_in_the_participants_language(stack: Stack) -> None:
    sara, _amina, me = await a_participant_with_a_history(stack)
    await sara.command("mydata")
    page_message = await sara.expect("Här är allt som Stegvis har sparat om dig.")
    assert page_message.file_name == f"stegvis-{me.public_id}.html"
    page = (await document(stack, page_message)).decode("utf-8")
    for expected in (
        '<html lang="sv" dir="ltr">',
        "Dina uppgifter i Stegvis",
        "Hjälpärenden",
        "Min hyresvärd vill vräka mig i nästa månad",
        "Praktik på biblioteket",
        "Arbetsförmedlingen",
        "Ta med ID-kort",
        "Börja på SFI i vår",
        "Amina",
    ):
        assert expected in page, expected
    machine = await sara.expect("Samma sak i en form som andra program kan läsa.")
    data = json.loads(await document(stack, machine))
    assert data["participant"] == me.public_id
    assert data["sections"]["you"][0]["name"] == "Sara"
    assert data["sections"]["steps"][0]["note"] == "Praktik på biblioteket"


async def test_mydata_in_arabic_reads_right_to_left(stack: Stack) -> None:
    await stack.cohort()
    omar = await join(stack, 802, "Omar", "ar")
    await omar.command("mydata")
    message = await omar.expect("هذه كل البيانات التي يحفظها Stegvis عنك.")
    page = (await document(stack, message)).decode("utf-8")
    assert '<html lang="ar" dir="rtl">' in page and "بياناتك في Stegvis" in page


async def test_delete_erases_the_person_and_keeps_the_anonymous_counts(stack: Stack) -> None:
    sara, amina, me = await a_participant_with_a_history(stack)
    await sara.command("delete")
    ask = await sara.expect("Vill du radera dina uppgifter i Stegvis?")
    await sara.press("Ja, radera mina uppgifter", message=ask)
    await sara.expect("Dina uppgifter har raderats.")
    told = await amina.expect(f"{me.public_id} har raderat sina uppgifter i Stegvis.")
    assert "Sara" not in told.body
    # What the mentor was told about her request is taken out of the mentor's chat too.
    remaining = await stack.client.wait_for(
        AMINA,
        lambda chat: not any("vräka" in m.body for m in chat if m.from_bot and not m.deleted),
    )
    assert any(m.deleted for m in remaining if m.from_bot)

    async with stack.database.session() as session:
        after = await session.get(Participant, me.id)
        assert after is not None
        assert (after.telegram_user_id, after.chat_id, after.display_name) == (None, None, None)
        assert after.erased_at is not None and after.public_id != me.public_id
        assert after.status == "ended" and after.cohort_id == me.cohort_id
        steps = (await session.scalars(select(Step).where(Step.participant_id == me.id))).all()
        assert [(s.kind, s.note) for s in steps] == [("internship", None)]
        assert await session.scalar(select(func.count()).select_from(EscalationMessage)) == 0
        assert (
            await session.scalar(
                select(func.count()).select_from(PlanGoal).where(PlanGoal.participant_id == me.id)
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.telegram_user_id == 801)
            )
            == 0
        )
        for checkin in (await session.scalars(select(Checkin))).all():
            assert (checkin.mood, checkin.note) == (None, None)
        raw = (await session.execute(text("SELECT payload FROM outbox"))).scalars().all()
        assert raw  # rows stay for the delivery counts, their texts do not
    async with stack.database.session() as session:
        payloads = (
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.participant_id == me.id)
            )
        ).all()
    assert payloads and all(p in ({"method": "erased"},) for p in payloads)

    # The same Telegram account is a stranger now: nothing links it to the old row.
    await sara.command("mydata")
    await sara.expect("Vi har inte sparat något om dig.")


async def test_delete_needs_its_own_confirmation(stack: Stack) -> None:
    sara, _amina, me = await a_participant_with_a_history(stack)
    await sara.command("menu")
    menu = await sara.expect("Vad vill du göra?")
    forged = await sara.forge("priv:delete:yes", message=menu)
    assert await sara.expect_answer(forged) == "Den här knappen fungerar inte längre."
    await sara.command("delete")
    ask = await sara.expect("Vill du radera dina uppgifter i Stegvis?")
    await sara.press("Nej, behåll dem", message=ask)
    await sara.expect("Okej. Inget har raderats.")
    async with stack.database.session() as session:
        still = await session.get(Participant, me.id)
        assert still is not None and still.erased_at is None and still.display_name == "Sara"


async def test_mentors_and_strangers_get_a_clear_answer(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=AMINA)
    amina = await stack.person(AMINA, "Amina", "sv")
    await amina.command("mydata")
    await amina.expect("Det här kommandot är till för deltagare.")
    code = await stack.invite(mentor_id=mentor_id)
    kim = await stack.person(803, "Kim", "sv")
    await kim.command("start", code)
    await kim.expect("Välj ditt språk")
    await kim.command("delete")
    await kim.expect("Vi har inte sparat något om dig. Det finns inget att radera.")
    async with stack.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_a_mentor_reading_a_participant_is_in_the_audit_trail(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=AMINA)
    other_id = await stack.mentor(name="Jonas Berg", languages=["sv"], telegram_user_id=7002)
    amina = await stack.person(AMINA, "Amina", "sv")
    jonas = await stack.person(7002, "Jonas", "sv")
    await join(stack, 804, "Sara", "sv", mentor_id)
    me = await participant(stack, 804)
    await amina.command("participant", me.public_id)
    await amina.expect(f"{me.public_id} · ")  # the overview, not the earlier join notice
    await jonas.command("participant", me.public_id)
    await jonas.expect("Jag hittar inte")
    async with stack.database.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.participant_id == me.id).order_by(AuditEvent.id)
            )
        ).all()
    assert [(e.mentor_id, e.action) for e in events] == [
        (mentor_id, AuditAction.READ_PARTICIPANT),
        (other_id, AuditAction.REFUSED_PARTICIPANT),
    ]


async def test_a_mentor_changing_a_case_in_telegram_is_in_the_audit_trail(stack: Stack) -> None:
    _sara, amina, me = await a_participant_with_a_history(stack)
    async with stack.database.session() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEvent))
    messages = [m for m in await amina.bot_messages() if "Hjälpärende #" in m.body]
    await amina.press("Ta ärendet", message=messages[-1])
    await amina.expect("Du har tagit ärende")
    async with stack.database.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.CHANGE_CASE)
            )
        ).all()
        after = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert [(e.participant_id, e.detail is not None and "claimed" in e.detail) for e in events] == [
        (me.id, True)
    ]
    assert after == (before or 0) + 1
