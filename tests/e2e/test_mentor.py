"""What mentors see and do through the real bot: caseload, one participant, steps, cadence."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.domain import selfrating
from storage.uow import UnitOfWork
from tests.e2e.harness import Person, Stack
from tests.e2e.people import join, participant, stored_state, tick

AMINA, JONAS = 7001, 7002
FIRST_CHECKIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def answer_checkin(person: Person, face: str) -> None:
    question = await person.expect("Hur har din vecka varit?")
    await person.press(face, message=question)
    activities = await person.expect("Vad har du gjort för jobb eller studier")
    await person.press("Klar", message=activities)
    await person.press("Nej tack", message=await person.expect("Vill du ha hjälp med något?"))
    await person.expect("Tack för dina svar!")


async def rate(stack: Stack, user_id: int, scores: list[int]) -> None:
    """A completed self-rating, stored as the flow stores it."""
    instrument = selfrating.load_instrument()
    owner = await participant(stack, user_id)
    async with UnitOfWork(stack.database) as uow:
        rating, _ = await selfrating.start_or_resume(uow, owner.id, instrument, stack.clock.now())
        for index, score in enumerate(scores):
            assert (
                await selfrating.answer(uow, rating, instrument, index, score, stack.clock.now())
                is None
            )
        await uow.commit()


async def test_a_mentor_reads_their_caseload_and_is_refused_another_mentors_participant(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await stack.cohort()
    amina_id = await stack.mentor(name="Amina Haddad", telegram_user_id=AMINA)
    jonas_id = await stack.mentor(name="Jonas Berg", languages=["sv"], telegram_user_id=JONAS)
    amina = await stack.person(AMINA, "Amina", "sv")
    sara = await join(stack, 701, "Sara", "sv", amina_id)
    await join(stack, 702, "Omar", "sv", amina_id)
    lina = await join(stack, 703, "Lina", "sv", jonas_id)
    await tick(stack)
    stack.clock.set(FIRST_CHECKIN)
    await tick(stack)
    await answer_checkin(sara, "🙂 Bra")
    await rate(stack, 701, [2, 3, 3, 4, 2, 3])
    sara_id = (await participant(stack, 701)).public_id
    omar_id = (await participant(stack, 702)).public_id
    lina_id = (await participant(stack, 703)).public_id

    await amina.command("caseload")
    caseload = await amina.expect("Du har 2 deltagare.")
    assert f"{sara_id} · Sara" in caseload.body and f"{omar_id} · Omar" in caseload.body
    assert "måndag 5 januari: 🙂 Bra" in caseload.body
    assert "måndag 5 januari: väntar på svar" in caseload.body
    assert "Besvarade: 1. Obesvarade: 0." in caseload.body
    assert "Lina" not in caseload.body and lina_id not in caseload.body
    assert sorted(caseload.button_labels) == sorted([sara_id, omar_id])

    await amina.press(sara_id, message=caseload)
    overview = await amina.expect(f"{sara_id} · Sara", "Senaste avstämningar:")
    assert "Avstämning varje måndag kl. 10:00. Nästa: måndag 12 januari kl. 10:00." in overview.body
    assert "Steg framåt:" in overview.body and "1 självskattning" in overview.body
    chart = await amina.expect(f"Självskattningar för {sara_id}")
    assert chart.photo is not None

    before = await stored_state(stack)
    caplog.clear()
    await amina.command("participant", lina_id)
    await amina.expect(f"Jag hittar inte {lina_id} bland dina deltagare.")
    await amina.command("participant", "PZZZZZ")
    await amina.expect("Jag hittar inte PZZZZZ bland dina deltagare.")  # the same words
    press = await amina.forge(f"cl:open:{lina_id}", message=caseload)
    await amina.expect(f"Jag hittar inte {lina_id} bland dina deltagare.")
    await amina.expect_answer(press)
    await amina.command("cadence", f"{lina_id} monthly")
    await amina.expect(f"Jag hittar inte {lina_id} bland dina deltagare.")
    refusals = [r.getMessage() for r in caplog.records if "refused participant=" in r.getMessage()]
    assert len(refusals) == 4
    assert all(f"mentor={amina_id}" in line for line in refusals)
    assert not any("Lina" in r.getMessage() or "Sara" in r.getMessage() for r in caplog.records)

    await sara.command("caseload")
    await sara.expect("Det här kommandot är till för mentorer.")
    await sara.command("participant", sara_id)
    await sara.expect("Det här kommandot är till för mentorer.")
    stranger = await stack.person(799, "Kim", "ar")
    await stranger.command("participant", sara_id)
    await stranger.expect("هذا الأمر مخصص للمرشدين.")
    press = await lina.forge(f"cl:open:{sara_id}")
    assert await lina.expect_answer(press) == "Den här knappen fungerar inte längre."
    assert await stored_state(stack) == before
    assert any("refused /participant: not a mentor" in r.getMessage() for r in caplog.records)


async def test_a_mentor_records_steps_and_changes_the_cadence(stack: Stack) -> None:
    await stack.cohort()
    amina_id = await stack.mentor(name="Amina Haddad", telegram_user_id=AMINA)
    amina = await stack.person(AMINA, "Amina", "sv")
    sara = await join(stack, 711, "Sara", "sv", amina_id)
    omar = await join(stack, 712, "Omar", "ar", amina_id)
    sara_id = (await participant(stack, 711)).public_id
    omar_id = (await participant(stack, 712)).public_id

    await amina.command("step", sara_id)
    kinds = await amina.expect(f"Vilket steg har {sara_id} tagit?")
    assert "Började praktik" in kinds.button_labels and len(kinds.button_labels) == 8
    await amina.press("Började praktik", message=kinds)
    await amina.expect(f"Registrerat för {sara_id}: Började praktik, måndag 5 januari.")
    await sara.expect("Din mentor har skrivit in ett steg framåt: Började praktik. Bra jobbat!")

    await amina.command("step", f"{omar_id} job 2026-01-02 Städjobb på hotell")
    await amina.expect(f"Registrerat för {omar_id}: Började ett jobb, fredag 2 januari.")
    await omar.expect("سجّل مرشدك خطوة إلى الأمام: بدء عمل. عمل رائع!")
    await amina.command("step", f"{omar_id} job 2026-02-01")
    await amina.expect("Det datumet har inte kommit än.")
    await amina.command("step", f"{omar_id} job 2026-13-01")
    await amina.expect("Jag kunde inte läsa datumet.")
    await amina.command("step")
    await amina.expect("Skriv så här: /step P7K3Q internship 2026-03-01")

    await amina.command("participant", omar_id)
    overview = await amina.expect(f"{omar_id} · Omar")
    assert "fredag 2 januari: Började ett jobb (registrerat av Amina)" in overview.body
    assert "“Städjobb på hotell”" in overview.body

    await amina.command("cadence", omar_id)
    choices = await amina.expect(f"{omar_id} får avstämning varje måndag kl. 10:00.")
    assert choices.button_labels == ["Varje vecka", "Varannan vecka", "En gång i månaden"]
    await amina.press("En gång i månaden", message=choices)
    await amina.expect(
        f"Klart. {omar_id} får nu avstämning första måndagen i varje månad kl. 10:00. "
        "Nästa: måndag 5 januari kl. 10:00."  # the first Monday of January is today
    )
    await omar.expect(
        "تم تغيير مواعيد المتابعة من قِبل مرشدك: أول يوم الاثنين من كل شهر الساعة 10:00."
    )
    await amina.command("cadence", f"{sara_id} fortnightly")
    await amina.expect(f"Klart. {sara_id} får nu avstämning varannan måndag kl. 10:00.")
    await tick(stack)
