"""Appointment reminders and /stop through the real bot and the Bot API emulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from storage.models import Appointment, AppointmentAnswer, Conversation, OutboxMessage, Participant
from tests.e2e.harness import Person, Stack

MENTOR = 7101


async def join(stack: Stack, mentor_id: int, user_id: int, name: str, language: str) -> Person:
    code = await stack.invite(mentor_id=mentor_id)
    person = await stack.person(user_id, name, language)
    await person.command("start", code)
    await person.press({"sv": "Svenska", "ar": "العربية", "en": "English"}[language])
    await person.press(
        {"sv": "Ja, jag godkänner", "ar": "نعم، أوافق", "en": "Yes, I agree"}[language]
    )
    await person.expect({"sv": "Välkommen", "ar": "أهلًا وسهلًا", "en": "Welcome"}[language])
    return person


async def public_id(stack: Stack, user_id: int) -> str:
    async with stack.database.session() as session:
        found = (
            await session.scalars(
                select(Participant).where(Participant.telegram_user_id == user_id)
            )
        ).one()
        return found.public_id


async def setup(stack: Stack) -> tuple[Person, int]:
    await stack.cohort()
    mentor_id = await stack.mentor(name="Amina Haddad", languages=["sv"], telegram_user_id=MENTOR)
    mentor = await stack.person(MENTOR, "Amina", "sv")
    return mentor, mentor_id


async def due_now(stack: Stack, delta: timedelta) -> None:
    """Move the clock on and let the bot's dispatcher handle what became due."""
    stack.clock.advance(delta)
    assert stack.runtime is not None
    await stack.runtime.dispatcher.drain()
    await stack.runtime.dispatcher.settled()


async def test_a_mentor_sets_a_reminder_step_by_step_and_the_answer_comes_back(
    stack: Stack,
) -> None:
    mentor, mentor_id = await setup(stack)
    sara = await join(stack, mentor_id, 7201, "Sara", "sv")
    pid = await public_id(stack, 7201)
    await mentor.expect("Ny deltagare")

    # Monday 5 January, 09:00 in Stockholm.
    await mentor.command("remind")
    await mentor.expect("Vem gäller mötet?")
    await mentor.press(pid)
    await mentor.expect(f"Möte med {pid}. Vilken dag?")
    await mentor.press("tisdag 6 januari")
    await mentor.expect("Vilken tid?")
    await mentor.press("14:00")
    await mentor.expect("Var är mötet?")
    await mentor.say("Arbetsförmedlingen, Storgatan 3\nTa med ditt ID-kort")
    saved = await mentor.expect("Sparat: möte med", "tisdag 6 januari kl. 14:00")
    assert "måndag 5 januari kl. 14:00, tisdag 6 januari kl. 13:00" in saved.body
    assert saved.button_labels == ["Ställ in mötet"]

    await due_now(stack, timedelta(hours=5))  # 24 hours before
    reminder = await sara.expect(
        "Påminnelse: du har ett möte med Amina tisdag 6 januari kl. 14:00."
    )
    assert "Plats: Arbetsförmedlingen, Storgatan 3" in reminder.body
    assert "Från Amina: Ta med ditt ID-kort" in reminder.body
    assert reminder.button_labels == ["Jag kommer", "Jag behöver en annan tid"]

    await sara.press("Jag kommer", message=reminder)
    await sara.expect("Tack! Vi ses tisdag 6 januari kl. 14:00.")
    await mentor.expect(f"{pid} kommer till mötet tisdag 6 januari kl. 14:00.")
    async with stack.database.session() as session:
        (appointment,) = (await session.scalars(select(Appointment))).all()
        assert appointment.answer is AppointmentAnswer.COMING
        raw = (await session.execute(text("SELECT place, note FROM appointment"))).one()
        assert all(value.startswith("enc1:") for value in raw)  # the mentor's words, sealed
        assert (
            await session.scalar(
                select(Conversation).where(Conversation.telegram_user_id == MENTOR)
            )
            is None
        )

    await due_now(stack, timedelta(hours=23))  # one hour before
    await sara.expect("Påminnelse: du har ett möte med Amina tisdag 6 januari kl. 14:00.")


async def test_an_arabic_participant_is_reminded_in_arabic_and_can_ask_for_another_time(
    stack: Stack,
) -> None:
    mentor, mentor_id = await setup(stack)
    omar = await join(stack, mentor_id, 7202, "Omar", "ar")
    pid = await public_id(stack, 7202)
    await mentor.command("remind", f"{pid} 2026-01-07 10:30 Försäkringskassan | Ta med intyg")
    await mentor.expect("Sparat: möte med", "onsdag 7 januari kl. 10:30")

    await due_now(stack, timedelta(days=1, hours=1, minutes=30))  # Tuesday 10:30
    reminder = await omar.expect("تذكير: لديك موعد مع Amina يوم الأربعاء 7 يناير الساعة 10:30.")
    assert "المكان: Försäkringskassan" in reminder.body
    assert reminder.button_labels == ["سأحضر", "أحتاج إلى موعد آخر"]
    await omar.press("أحتاج إلى موعد آخر", message=reminder)
    await omar.expect("أبلغتُ Amina")
    await mentor.expect(f"{pid} behöver en annan tid för mötet onsdag 7 januari kl. 10:30.")

    # The mentor calls the appointment off; Omar, who was reminded, is told in Arabic.
    saved = next(m for m in await mentor.bot_messages() if "Ställ in mötet" in m.button_labels)
    await mentor.press("Ställ in mötet", message=saved)
    await mentor.expect(f"Mötet med {pid} onsdag 7 januari kl. 10:30 är inställt.")
    await omar.expect("أُلغي موعدك مع Amina")
    await due_now(stack, timedelta(hours=23))
    assert len([m for m in await omar.bot_messages() if m.body.startswith("تذكير")]) == 1


async def test_refusals_are_translated_and_change_nothing(stack: Stack) -> None:
    mentor, mentor_id = await setup(stack)
    sara = await join(stack, mentor_id, 7203, "Sara", "sv")
    pid = await public_id(stack, 7203)
    other_id = await stack.mentor(name="Jonas Berg", languages=["sv"])
    await join(stack, other_id, 7204, "Kim", "sv")
    not_mine = await public_id(stack, 7204)

    await sara.command("remind")
    await sara.expect("Bara mentorer kan lägga in påminnelser om möten.")
    await mentor.command("remind", f"{not_mine} 2026-01-07 10:00 Kontoret")
    await mentor.expect(f"Jag hittar inte {not_mine} bland dina deltagare.")
    await mentor.command("remind", f"{pid} 2026-01-04 10:00 Kontoret")
    await mentor.expect("Den tiden har redan varit.")
    await mentor.command("remind", f"{pid} 31/31 10:00 Kontoret")
    await mentor.expect("Jag kunde inte läsa datumet.")
    await mentor.command("remind", f"{pid} 2026-01-07 25:00 Kontoret")
    await mentor.expect("Jag kunde inte läsa tiden.")
    await mentor.command("remind", "P")
    await mentor.expect("Skriv så här: /remind P7K3Q 2026-12-03 14:00 Plats | anteckning")

    await mentor.command("remind")
    await mentor.expect("Vem gäller mötet?")
    await mentor.sticker()
    await mentor.expect("Skriv det som text, eller använd knapparna.")
    await mentor.expect("Vem gäller mötet?")
    await mentor.say(not_mine)
    await mentor.expect(f"Jag hittar inte {not_mine}")
    await mentor.press("Avbryt")
    await mentor.expect("Okej, inget sparades.")

    # A forged answer, and a forged cancel by a participant, are stale buttons.
    menu = await stack.client.latest_bot_message(7203)
    assert menu is not None
    for data in (
        "rem:ans:1:come",
        "rem:ans:x:come",
        "rem:cancel:1",
        "rem:who:1",
        "rem:day:20260107",
    ):
        press = await sara.forge(data, message=menu)
        assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."
    async with stack.database.session() as session:
        assert (await session.scalars(select(Appointment))).all() == []
        assert (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        ).all() == []


async def test_stop_pauses_reminders_and_start_turns_them_on_again(stack: Stack) -> None:
    mentor, mentor_id = await setup(stack)
    sara = await join(stack, mentor_id, 7205, "Sara", "sv")
    pid = await public_id(stack, 7205)

    await sara.command("stop")
    await sara.expect("Okej, jag har pausat påminnelser och utskick till din grupp.")
    await sara.command("stop")
    await sara.expect("Påminnelserna är redan pausade.")
    await mentor.command("remind", f"{pid} 2026-01-06 14:00 Kontoret")
    saved = await mentor.expect("Sparat: möte med")
    assert f"Obs! {pid} har pausat påminnelser" in saved.body

    await due_now(stack, timedelta(hours=5))  # the 24-hour reminder falls while paused
    await sara.command("start")
    await sara.expect("Påminnelserna är på igen.")
    await due_now(stack, timedelta(hours=23))  # the 1-hour reminder comes
    await sara.expect("Påminnelse: du har ett möte med Amina tisdag 6 januari kl. 14:00.")
    async with stack.database.session() as session:
        statuses = sorted(
            (row.idempotency_key.rsplit(":", 1)[1], row.status.value, row.last_error)
            for row in (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
            ).all()
        )
    assert statuses == [("1h", "sent", None), ("24h", "skipped", "recipient paused reminders")]

    visitor = await stack.person(7299, "Kim", "sv")
    await visitor.command("stop")
    await visitor.expect("/stop pausar påminnelser för deltagare.")


def membership_update(update_id: int, user_id: int, old: str, new: str) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": "Sara", "language_code": "sv"}
    bot = {"id": 123456, "is_bot": True, "first_name": "Stegvis", "username": "stegvis_test_bot"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": "Sara"},
            "from": user,
            "date": 1767600000,
            "old_chat_member": {
                "status": old,
                "user": bot,
                **({"until_date": 0} if old == "kicked" else {}),
            },
            "new_chat_member": {
                "status": new,
                "user": bot,
                **({"until_date": 0} if new == "kicked" else {}),
            },
        },
    }


async def test_blocking_the_bot_makes_a_participant_unreachable_and_unblocking_reachable(
    stack: Stack,
) -> None:
    _mentor, mentor_id = await setup(stack)
    await join(stack, mentor_id, 7206, "Sara", "sv")

    async def unreachable() -> bool:
        async with stack.database.session() as session:
            found = (
                await session.scalars(
                    select(Participant).where(Participant.telegram_user_id == 7206)
                )
            ).one()
            return found.unreachable_at is not None

    await stack.deliver_raw(membership_update(990101, 7206, "member", "kicked"))
    assert await unreachable()
    await stack.deliver_raw(membership_update(990102, 7206, "kicked", "member"))
    assert not await unreachable()
