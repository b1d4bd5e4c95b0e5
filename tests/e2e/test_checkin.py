"""The weekly check-in through the real bot and the Bot API emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.sandbox.client import ChatMessage
from storage.models import CheckinStatus, CheckinStep, Conversation, StepKind
from storage.models import Step as StepRow
from tests.e2e.harness import Stack
from tests.e2e.people import checkins_of, join, participant, stored_state, tick

MENTOR = 7001
FIRST_CHECKIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm


async def edited(stack: Stack, user_id: int, message_id: int, fragment: str) -> ChatMessage:
    """Wait until the bot has edited a message to show `fragment`."""

    def done(messages: list[ChatMessage]) -> bool:
        return any(
            m.id == message_id and fragment in (m.body + " ".join(m.button_labels))
            for m in messages
        )

    messages = await stack.client.wait_for(user_id, done)
    return next(m for m in messages if m.id == message_id)


async def test_a_full_checkin_in_swedish(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=MENTOR)
    sara = await join(stack, 501, "Sara", "sv", mentor_id)
    await tick(stack)  # Sara gets her schedule: Mondays at 10:00
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)

    question = await sara.expect("Hej Sara! Dags för din avstämning.", "Hur har din vecka varit?")
    assert question.button_labels == [
        "😄 Mycket bra",
        "🙂 Bra",
        "😐 Okej",
        "🙁 Tungt",
        "😞 Mycket tungt",
    ]
    await sara.press("🙂 Bra", message=question)
    activities = await sara.expect("Vad har du gjort för jobb eller studier den här veckan?")
    answered = await edited(stack, 501, question.id, "🙂 Bra")
    assert not answered.buttons
    assert activities.button_labels[:2] == ["☐ Sökt jobb", "☐ SFI eller en annan kurs"]
    assert activities.button_labels[-1] == "✓ Klar"

    await sara.press("Sökt jobb", message=activities)
    await edited(stack, 501, activities.id, "☑ Sökt jobb")
    await sara.press("SFI eller en annan kurs", message=activities)
    ticked = await edited(stack, 501, activities.id, "☑ SFI eller en annan kurs")
    assert "☑ Sökt jobb" in ticked.button_labels
    (checkin,) = await checkins_of(stack, 501)
    assert checkin.activities == ["apply", "course"]  # each tick is stored as it is pressed

    await sara.press("Klar", message=activities)
    await sara.expect("Det är ett steg framåt: Började SFI eller en annan kurs. Bra jobbat!")
    help_question = await sara.expect("Vill du ha hjälp med något?")
    await edited(stack, 501, activities.id, "✓ Sökt jobb, SFI eller en annan kurs")
    await sara.press("Nej tack", message=help_question)
    await sara.expect("Tack för dina svar! Nästa avstämning är måndag 12 januari kl. 10:00.")

    (checkin,) = await checkins_of(stack, 501)
    assert checkin.status is CheckinStatus.ANSWERED and checkin.step is CheckinStep.DONE
    assert (checkin.mood, checkin.activities, checkin.wants_help) == (4, ["apply", "course"], False)
    async with stack.database.session() as session:
        assert await session.get(Conversation, 501) is None
        (step,) = (await session.scalars(select(StepRow))).all()
    assert (step.kind, step.checkin_id) == (StepKind.COURSE, checkin.id)


async def test_a_full_checkin_in_arabic_that_asks_for_help(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(name="Jonas Berg", languages=["sv"], telegram_user_id=MENTOR)
    jonas = await stack.person(MENTOR, "Jonas", "sv")
    omar = await join(stack, 502, "Omar", "ar", mentor_id)
    await tick(stack)
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)

    question = await omar.expect("مرحبًا Omar! حان وقت المتابعة.", "كيف كان أسبوعك؟")
    assert question.button_labels[0] == "😄 جيد جدًا" and question.button_labels[-1] == "😞 صعب جدًا"
    await omar.press("😞", message=question)
    await omar.expect("شكرًا على المشاركة. يؤسفني أن الأسبوع كان صعبًا.")
    activities = await omar.expect("ما الذي تم هذا الأسبوع من أجل العمل أو الدراسة؟")
    await omar.press("لا شيء هذا الأسبوع", message=activities)
    await edited(stack, 502, activities.id, "☑ لا شيء هذا الأسبوع")
    await omar.press("تم", message=activities)
    help_question = await omar.expect("هل هناك حاجة إلى مساعدة في أمر ما؟")
    await omar.press("نعم، أحتاج إلى مساعدة", message=help_question)
    # "Yes" leads into the help flow: a topic, the participant's own words, and consent.
    topics = await omar.expect("في أي موضوع تلزمك المساعدة؟")
    await omar.press("المال والديون", message=topics)
    await omar.say("عندي ديون عند Kronofogden وما بعرف شو أعمل")
    confirm = await omar.expect("هذا ما سيصل إلى Jonas:")
    await omar.press("نعم، يُرجى الإرسال", message=confirm)
    await omar.expect("تم الإرسال إلى Jonas.")

    notice = await jonas.expect("Hjälpärende #", "Kronofogden")
    assert "Ekonomi och skulder" in notice.body
    (checkin,) = await checkins_of(stack, 502)
    assert (checkin.mood, checkin.activities, checkin.wants_help) == (1, ["nothing"], True)


async def test_changing_the_day_and_time_of_the_checkin(stack: Stack) -> None:
    await stack.cohort()
    sara = await join(stack, 503, "Sara", "sv")
    await sara.command("checkin")
    shown = await sara.expect("Din avstämning kommer varje måndag kl. 10:00.")
    assert "Nästa gång är måndag 5 januari kl. 10:00." in shown.body
    await sara.press("Byt dag och tid", message=shown)
    days = await sara.expect("Vilken dag passar dig bäst?")
    assert days.button_labels[:2] == ["Måndag", "Tisdag"]
    await sara.sticker()
    await sara.expect("Välj en av knapparna.")
    days = await sara.expect("Vilken dag passar dig bäst?")
    await sara.press("Tisdag", message=days)
    times = await sara.expect("Vilken tid på tisdag?")
    assert times.button_labels == ["08:00", "10:00", "12:00", "14:00", "16:00", "18:00"]
    await sara.press("14:00", message=times)
    await sara.expect(
        "Klart. Din avstämning kommer nu varje tisdag kl. 14:00. "
        "Nästa gång är tisdag 6 januari kl. 14:00."
    )
    # An old day button does nothing now.
    press = await sara.forge("ci:day:3", message=days)
    assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."

    stack.clock.set(datetime(2026, 1, 6, 13, 0, tzinfo=UTC))  # Tuesday 14:00 in Stockholm
    await tick(stack)
    await sara.expect("Dags för din avstämning.")


async def test_bad_input_during_a_checkin_keeps_what_is_stored(stack: Stack) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=MENTOR)
    await stack.person(MENTOR, "Amina", "sv")
    sara = await join(stack, 504, "Sara", "sv", mentor_id)
    lina = await join(stack, 505, "Lina", "sv", mentor_id)
    await tick(stack)
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)
    question = await sara.expect("Hur har din vecka varit?")
    await lina.expect("Hur har din vecka varit?")
    (linas,) = await checkins_of(stack, 505)
    before = await stored_state(stack)

    await sara.sticker()
    await sara.expect("Välj en av knapparna.")
    again = await sara.expect("Hur har din vecka varit?")
    assert again.button_labels == question.button_labels
    # Someone else's check-in, a face off the scale, the wrong step, garbage: nothing moves.
    for data in (
        f"ci:mood:{linas.id}:5",
        f"ci:mood:{linas.id + 100}:5",
        "ci:mood:x:5",
        "ci:mood:1:9",
        "ci:done:1",
        "ci:help:1:maybe",
        "ci:mood",
    ):
        press = await sara.forge(data, message=question)
        assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await stored_state(stack) == before

    # Words during a check-in become a request for help, shared only if Sara says yes;
    # the check-in itself stays open, its buttons still work.
    await sara.say("Jag har haft ont i ryggen hela veckan.")
    await sara.expect("Det här får Amina se:", "ont i ryggen", "Ska jag skicka det?")
    await sara.press("🙂", message=question)
    await sara.expect("Vad har du gjort för jobb eller studier den här veckan?")
    (checkin,) = await checkins_of(stack, 504)
    assert checkin.mood == 4 and checkin.note is None


async def test_a_closed_checkins_buttons_are_refused_kindly(stack: Stack) -> None:
    await stack.cohort()
    sara = await join(stack, 506, "Sara", "sv")
    await tick(stack)
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)
    question = await sara.expect("Hur har din vecka varit?")
    stack.clock.advance(timedelta(days=1))
    await tick(stack)
    reminder = await sara.expect("En vänlig påminnelse: din avstämning är fortfarande öppen.")
    assert "Hur har din vecka varit?" in reminder.body and len(reminder.buttons) == 5
    # A participant who lost the message finds the open check-in under /checkin.
    await sara.command("checkin")
    shown = await sara.expect("Din avstämning kommer varje måndag kl. 10:00.")
    await sara.press("Svara på den öppna avstämningen", message=shown)
    again = await sara.expect("Hur har din vecka varit?")
    assert again.button_labels == question.button_labels
    stack.clock.advance(timedelta(days=2))
    await tick(stack)
    before = await stored_state(stack)

    press = await sara.press("😄", message=question)
    assert await sara.expect_answer(press) == "Den här avstämningen är stängd. Tack ändå!"
    await stack.client.wait_for(
        506, lambda messages: any(m.id == question.id and not m.buttons for m in messages)
    )
    assert await stored_state(stack) == before
    (checkin,) = await checkins_of(stack, 506)
    assert checkin.status is CheckinStatus.EXPIRED and checkin.mood is None
    # With the check-in closed, text is an ordinary message again.
    await sara.say("hej")
    await sara.expect("Det här får en mentor se:", "Ska jag skicka det?")


async def test_help_asked_by_someone_without_a_mentor_reaches_the_project_staff(
    stack: Stack,
) -> None:
    await stack.cohort()
    await stack.mentor(
        name="Eva Lind", languages=["sv"], telegram_user_id=7009, is_coordinator=True
    )
    eva = await stack.person(7009, "Eva", "sv")
    sara = await join(stack, 507, "Sara", "sv")  # no mentor assigned yet
    await tick(stack)
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)
    await sara.press("😐", message=await sara.expect("Hur har din vecka varit?"))
    await sara.press("Klar", message=await sara.expect("Vad har du gjort för jobb"))
    await sara.press("Ja, jag vill ha hjälp", message=await sara.expect("Vill du ha hjälp"))
    await sara.press("Något annat", message=await sara.expect("Vad behöver du hjälp med?"))
    await sara.say("Jag behöver prata med någon om min praktik.")
    confirm = await sara.expect("Det här får en mentor se:")
    await sara.press("Ja, skicka", message=confirm)
    notice = await eva.expect("Hjälpärende #")
    assert "praktik" in notice.body


async def test_a_paused_participant_is_not_promised_a_next_checkin(stack: Stack) -> None:
    from tests.factories import update_participant

    await stack.cohort()
    sara = await join(stack, 508, "Sara", "sv")
    me = await participant(stack, 508)
    await update_participant(stack.database, me.id, reminders_paused_at=stack.clock.now())
    await sara.command("checkin")
    shown = await sara.expect("Din avstämning kommer varje måndag kl. 10:00.")
    assert "Dina avstämningar är pausade just nu. Din mentor kan berätta mer." in shown.body
    assert "Nästa gång" not in shown.body
