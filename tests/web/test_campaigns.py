"""Staff make, preview, pause, resume and cancel campaigns on the dashboard."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain import campaigns
from storage.models import (
    AuditAction,
    AuditEvent,
    Campaign,
    CampaignState,
    OutboxMessage,
    OutboxStatus,
    StaffRole,
)
from storage.uow import UnitOfWork
from tests.web.support import Dashboard, Visitor

COHORT = "Lumena vår"
SV = "Välkommen på informationsträff på torsdag kl. 10!"
AR = "أهلًا بكم في اللقاء الإعلامي يوم الخميس الساعة 10!"


async def people(dashboard: Dashboard) -> int:
    """Two Swedish readers, one Arabic, one English; and another group nobody chooses."""
    cohort = await dashboard.cohort(COHORT)
    await dashboard.cohort("Alis höst")
    await dashboard.participant("Sara", cohort=COHORT)
    await dashboard.participant("Erik", cohort=COHORT)
    await dashboard.participant("عمر", cohort=COHORT, locale="ar")
    await dashboard.participant("Lina", cohort=COHORT, locale="en")
    await dashboard.participant("Other", cohort="Alis höst")
    return cohort


def form(group: int, **changes: str | list[str]) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "name": "Informationsträff",
        "cohort": str(group),
        "status": ["applied", "active", "follow_up"],
        "text_sv": SV,
        "text_ar": AR,
        "text_en": "",
        "fallback": "sv",
        "when": "once",
        "at": "2026-01-05T10:00",  # an hour after the test clock's 09:00 in Stockholm
        "every_time": "09:00",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
    }
    fields.update(changes)
    return fields


async def staff(dashboard: Dashboard) -> Visitor:
    return await dashboard.signed_in("eva")


async def stored(dashboard: Dashboard) -> list[Campaign]:
    async with dashboard.database.session() as session:
        return list((await session.scalars(select(Campaign))).all())


async def outbox(dashboard: Dashboard) -> list[OutboxStatus]:
    async with dashboard.database.session() as session:
        rows = await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))
        return list(rows.all())


async def audited(dashboard: Dashboard) -> list[tuple[AuditAction, str | None]]:
    async with dashboard.database.session() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(event.action, event.detail) for event in events.all()]


async def test_staff_preview_each_language_as_participants_get_it_and_then_save(
    dashboard: Dashboard,
) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    new = await eva.get("/campaigns/new")
    assert '<textarea id="text_ar" name="text_ar" rows="7" lang="ar" dir="rtl">' in new.text

    preview = await eva.post("/campaigns/preview", form(cohort))
    assert preview.status_code == 200
    page = preview.text
    assert "Not saved yet." in page
    assert "4 participants" in page
    # Each message exactly as it arrives: the text, then how to pause, in the reader's language.
    assert f'lang="sv" dir="ltr">{SV}\n\nVill du pausa' in page
    assert f'lang="ar" dir="rtl">{AR}\n\n' in page and "/stop" in page
    assert "2 participants get this" in page and "1 participant gets this" in page
    assert (
        "English: 1 participant gets the Swedish text, with the line on pausing in their "
        "own language." in page
    )
    assert f"{SV}\n\nTo pause messages like this, send /stop." in page
    assert await stored(dashboard) == []  # a preview stores nothing

    saved = await eva.post("/campaigns", form(cohort))
    assert saved.status_code == 200
    assert "The campaign is saved." in saved.text
    [campaign] = await stored(dashboard)
    assert str(saved.url).endswith(f"/campaigns/{campaign.id}")
    assert campaign.texts == {"sv": SV, "ar": AR} and campaign.fallback_locale == "sv"
    assert campaign.state is CampaignState.SCHEDULED
    assert "Once, 5 Jan 2026 10:00" in saved.text
    assert (AuditAction.CREATE_CAMPAIGN, None) in await audited(dashboard)

    listing = (await eva.get("/campaigns")).text
    assert "Informationsträff" in listing and "Scheduled" in listing


async def test_a_weekly_campaign_is_described_in_the_staff_members_language(
    dashboard: Dashboard,
) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    fields = form(cohort, when="repeat", every_time="09:30", day=["mon", "thu"])
    response = await eva.post("/campaigns", fields)
    assert "Every Monday, Thursday at 09:30" in response.text
    sven = await dashboard.signed_in("sven", language="sv")
    listing = (await sven.get("/campaigns")).text
    assert "Utskick" in listing


async def test_a_form_with_a_problem_comes_back_with_the_texts_kept_and_a_reason(
    dashboard: Dashboard,
) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    no_fallback = await eva.post("/campaigns/preview", form(cohort, fallback=""))
    assert no_fallback.status_code == 400
    assert "There is no text in English. Write one, or choose which text" in no_fallback.text
    assert f'dir="rtl">{AR}</textarea>' in no_fallback.text
    assert f'dir="ltr">{SV}</textarea>' in no_fallback.text

    passed = await eva.post("/campaigns", form(cohort, at="2026-01-04T10:00"))
    assert passed.status_code == 400
    assert "That time has already passed." in passed.text
    assert 'value="Informationsträff"' in passed.text

    no_group = await eva.post("/campaigns", form(cohort, cohort=""))
    assert "Choose at least one group." in no_group.text
    too_long = await eva.post("/campaigns", form(cohort, text_ar="ب" * 4000))
    assert "The text in Arabic is too long." in too_long.text
    assert await stored(dashboard) == []

    await eva.post("/campaigns", form(cohort))
    again = await eva.post("/campaigns", form(cohort))
    assert "There is already a campaign with this name." in again.text
    assert len(await stored(dashboard)) == 1


async def due_campaign(dashboard: Dashboard, eva: Visitor, cohort: int) -> int:
    """Saved on the dashboard, then its time comes and the job writes the outbox."""
    await eva.post("/campaigns", form(cohort, at="2026-01-05T09:10", quiet_start="", quiet_end=""))
    [campaign] = await stored(dashboard)
    dashboard.clock.advance(timedelta(minutes=10))
    async with UnitOfWork(dashboard.database) as uow:
        await campaigns.materialise_due(
            uow, now=dashboard.clock.now(), zone=dashboard.settings.zone
        )
        await uow.commit()
    return campaign.id


async def test_pause_resume_and_cancel_act_on_the_waiting_messages_at_once(
    dashboard: Dashboard,
) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    campaign_id = await due_campaign(dashboard, eva, cohort)
    assert await outbox(dashboard) == [OutboxStatus.PENDING] * 4
    page = (await eva.get(f"/campaigns/{campaign_id}")).text
    assert '<strong data-count="pending">4</strong> Waiting to be sent' in page

    paused = await eva.post(f"/campaigns/{campaign_id}/pause")
    assert "The campaign is paused." in paused.text
    assert await outbox(dashboard) == [OutboxStatus.HELD] * 4
    assert '<strong data-count="held">4</strong> Held while paused' in paused.text
    assert "Resume" in paused.text and ">Pause<" not in paused.text

    resumed = await eva.post(f"/campaigns/{campaign_id}/resume")
    assert "The campaign goes on." in resumed.text
    assert await outbox(dashboard) == [OutboxStatus.PENDING] * 4

    cancelled = await eva.post(f"/campaigns/{campaign_id}/cancel")
    assert "The campaign is cancelled." in cancelled.text
    assert await outbox(dashboard) == [OutboxStatus.SKIPPED] * 4
    assert "Cancel the campaign" not in cancelled.text

    again = await eva.post(f"/campaigns/{campaign_id}/resume")
    assert "That cannot be done with the campaign as it is now." in again.text
    changes = [d for a, d in await audited(dashboard) if a is AuditAction.CHANGE_CAMPAIGN]
    assert changes == ["pause rows=4", "resume rows=4", "cancel rows=4"]


async def test_the_counts_view_reports_deliveries_without_keeping_an_idle_session_alive(
    dashboard: Dashboard,
) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    campaign_id = await due_campaign(dashboard, eva, cohort)
    async with dashboard.database.session() as session:
        first = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id).limit(1))
        assert first is not None
        first.status = OutboxStatus.SENT
        await session.commit()
    await eva.get(f"/campaigns/{campaign_id}")
    counts = await eva.get(f"/campaigns/{campaign_id}/counts")
    assert counts.headers["content-type"] == "application/json"
    body = counts.json()
    assert body["counts"]["sent"] == "1" and body["counts"]["pending"] == "3"
    assert body["state"] == "running" and body["live"] is True
    # Polling every few seconds is not the staff member at work: the session still ends.
    for _ in range(3):
        dashboard.clock.advance(timedelta(minutes=8))
        polled = await eva.get(f"/campaigns/{campaign_id}/counts")
        assert polled.json()["counts"]["sent"] == "1"
    dashboard.clock.advance(timedelta(minutes=8))
    expired = await eva.get(f"/campaigns/{campaign_id}")
    assert "Your session has expired." in expired.text


async def test_a_mentor_is_refused_the_campaign_pages(dashboard: Dashboard) -> None:
    cohort = await people(dashboard)
    mentor = await dashboard.mentor("Amina Haddad")
    await dashboard.account("amina", role=StaffRole.MENTOR, mentor_id=mentor)
    amina = dashboard.visitor()
    overview = (await amina.sign_in("amina")).text
    assert 'href="/campaigns"' not in overview
    for path in ("/campaigns", "/campaigns/new"):
        refused = await amina.get(path)
        assert refused.status_code == 403
        assert "This page is for project staff only." in refused.text
    posted = await amina.post("/campaigns", form(cohort))
    assert posted.status_code == 403
    assert await stored(dashboard) == []


async def test_a_campaign_form_without_its_csrf_token_is_refused(dashboard: Dashboard) -> None:
    cohort = await people(dashboard)
    eva = await staff(dashboard)
    await eva.get("/campaigns/new")
    refused = await eva.post("/campaigns", form(cohort), token=None)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert await stored(dashboard) == []
    campaign_id = await due_campaign(dashboard, eva, cohort)
    forged = await eva.post(f"/campaigns/{campaign_id}/cancel", token="not-the-token")
    assert forged.status_code == 403
    assert await outbox(dashboard) == [OutboxStatus.PENDING] * 4
