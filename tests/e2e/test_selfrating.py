"""The self-rating through the real bot and the Bot API emulator."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy import select

from storage.models import SelfRating, SelfRatingScore, SelfRatingStatus
from tests.e2e.harness import Stack
from tests.e2e.people import join, participant, stored_state, tick

MENTOR = 7001
SCALE_SV = ["😄 Helt", "🙂 Till stor del", "😐 Delvis", "🙁 Lite", "😞 Inte alls", "⏸ Sluta för nu"]


async def test_a_self_rating_stopped_halfway_survives_a_restart_and_ends_with_a_chart(
    stack: Stack,
) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(telegram_user_id=MENTOR)
    amina = await stack.person(MENTOR, "Amina", "sv")
    sara = await join(stack, 601, "Sara", "sv", mentor_id)

    await sara.command("rating")
    await sara.expect("Självskattning", "Sex korta frågor om hur du ser på din situation")
    first = await sara.expect("Fråga 1 av 6: Hälsa", "Hur bra kan du ta hand om din hälsa just nu?")
    assert first.button_labels == SCALE_SV
    await sara.press("Delvis", message=first)
    second = await sara.expect("Fråga 2 av 6: Vardagen")
    await sara.press("Lite", message=second)
    third = await sara.expect("Fråga 3 av 6: Tro på jobb")
    await sara.press("Till stor del", message=third)
    fourth = await sara.expect("Fråga 4 av 6: Samarbete")
    await sara.press("Sluta för nu", message=fourth)
    await sara.expect("Okej. Dina svar hittills är sparade. Fortsätt när du vill med /rating.")

    await stack.restart_bot()
    await sara.command("rating")
    await sara.expect("Välkommen tillbaka! Vi fortsätter där du slutade.")
    fourth = await sara.expect("Fråga 4 av 6: Samarbete")
    before = await stored_state(stack)
    press = await sara.forge(first.button_data("Helt"), message=first)  # an old question
    assert await sara.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await stored_state(stack) == before

    await sara.press("Helt", message=fourth)
    await sara.press("Delvis", message=await sara.expect("Fråga 5 av 6: Söka jobb"))
    await sara.press("Lite", message=await sara.expect("Fråga 6 av 6: Kunskaper"))
    summary = await sara.expect("Tack! Här är din självskattning:")
    assert "Hälsa: 3" in summary.body and "Samarbete: 5" in summary.body
    assert "Det här var din första självskattning." in summary.body
    chart = await sara.expect("Dina självskattningar över tid")
    assert chart.photo is not None
    png = await stack.client.file_bytes(chart.photo)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = Image.open(io.BytesIO(png)).size
    assert width >= 600 and height >= 600  # big enough to read on a phone

    me = await participant(stack, 601)
    await amina.expect(f"Sara ({me.public_id}) har gjort en självskattning.")
    async with stack.database.session() as session:
        (rating,) = (await session.scalars(select(SelfRating))).all()
        scores = {
            row.theme: row.score for row in (await session.scalars(select(SelfRatingScore))).all()
        }
    assert rating.status is SelfRatingStatus.COMPLETED
    assert scores == {
        "health": 3,
        "everyday": 2,
        "belief": 4,
        "together": 5,
        "jobsearch": 3,
        "skills": 2,
    }
    # A button of the finished self-rating changes nothing.
    press = await sara.forge(fourth.button_data("Lite"), message=fourth)
    assert (
        await sara.expect_answer(press)
        == "Du har redan gjort klart den här självskattningen. Tack!"
    )


async def test_the_self_rating_is_offered_a_few_days_after_joining_in_arabic(stack: Stack) -> None:
    await stack.cohort()
    omar = await join(stack, 602, "Omar", "ar")
    await tick(stack)
    stack.clock.set(datetime(2026, 1, 8, 9, 0, tzinfo=UTC))  # Thursday 10:00, three days on
    await tick(stack)
    offer = await omar.expect("مرحبًا Omar! حان وقت التقييم الذاتي: 6 أسئلة قصيرة عن سير الأمور.")
    assert offer.button_labels == ["البدء", "لاحقًا"]
    await omar.press("لاحقًا", message=offer)
    await omar.expect("حسنًا. يمكن البدء في أي وقت عبر /rating.")
    await omar.command("rating")
    question = await omar.expect("السؤال 1 من 6: الصحة", "ما مدى قدرتك على العناية بصحتك الآن؟")
    assert question.button_labels[0] == "😄 تمامًا"
    await omar.sticker()
    await omar.expect("يُرجى اختيار أحد الأزرار.")
    await omar.expect("السؤال 1 من 6: الصحة")
    async with stack.database.session() as session:
        (rating,) = (await session.scalars(select(SelfRating))).all()
    assert rating.status is SelfRatingStatus.OPEN
