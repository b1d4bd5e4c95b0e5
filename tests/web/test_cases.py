"""Requests for help on the dashboard: the queue against the SLA, a case's page, and
take, give to a mentor, mark as done, with what the participant is then told."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain import escalation
from storage.models import (
    AuditAction,
    AuditEvent,
    Escalation,
    EscalationCategory,
    EscalationSource,
    EscalationStatus,
    MessageKind,
    OutboxMessage,
    Participant,
    StaffRole,
)
from storage.uow import UnitOfWork
from tests.web.support import Dashboard

COHORT = "Lumena vår"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def open_case(
    dashboard: Dashboard,
    public_id: str,
    text: str,
    *,
    category: EscalationCategory = EscalationCategory.HOUSING,
    urgent: bool = False,
    terms: tuple[str, ...] = (),
    shared: bool = True,
) -> int:
    """A request for help as the help flow leaves it: written, shared and routed."""
    async with UnitOfWork(dashboard.database) as uow:
        participant = (
            await uow.session.scalars(select(Participant).where(Participant.public_id == public_id))
        ).one()
        now = dashboard.clock.now()
        case = await escalation.open_case(
            uow,
            participant=participant,
            category=category,
            urgent=urgent,
            terms=terms,
            source=EscalationSource.TEXT,
            now=now,
        )
        await escalation.add_participant_message(
            uow, case, escalation.Incoming(MessageKind.TEXT, text=text), now
        )
        if urgent:  # paged at once, before the participant decides
            await escalation.route(uow, case, participant, now, STOCKHOLM)
        if shared:
            await escalation.share(uow, case, participant, now, STOCKHOLM)
        await uow.commit()
        return case.id


class People(TypedDict):
    """The mentors' ids and the participants' public ids that `project` creates."""

    amina: int
    jonas: int
    sara: str
    omar: str


async def project(dashboard: Dashboard) -> People:
    await dashboard.cohort(COHORT)
    amina = await dashboard.mentor("Amina Haddad", ["ar", "sv"])
    jonas = await dashboard.mentor("Jonas Berg")
    async with UnitOfWork(dashboard.database) as uow:
        for mentor_id, telegram_id in ((amina, 7001), (jonas, 7002)):
            mentor = await uow.mentors.get(mentor_id)
            assert mentor is not None
            mentor.telegram_user_id = telegram_id
        await uow.commit()
    return {
        "amina": amina,
        "jonas": jonas,
        "sara": await dashboard.participant("Sara", cohort=COHORT, mentor_id=amina),
        "omar": await dashboard.participant("عمر", cohort=COHORT, mentor_id=jonas, locale="ar"),
    }


async def case_row(dashboard: Dashboard, case_id: int) -> Escalation:
    async with dashboard.database.session() as session:
        found = await session.get(Escalation, case_id)
        assert found is not None
        return found


async def texts_to(dashboard: Dashboard, public_id: str) -> list[str]:
    async with dashboard.database.session() as session:
        chat_id = await session.scalar(
            select(Participant.chat_id).where(Participant.public_id == public_id)
        )
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
        )
        return [str(row.payload.get("text", "")) for row in rows]


async def texts_to_mentor(dashboard: Dashboard, telegram_id: int) -> list[str]:
    async with dashboard.database.session() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == telegram_id)
            .order_by(OutboxMessage.id)
        )
        return [str(row.payload.get("text", "")) for row in rows]


async def audit_actions(dashboard: Dashboard) -> list[tuple[AuditAction, int | None]]:
    async with dashboard.database.session() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(row.action, row.object_id) for row in rows]


async def test_the_queue_shows_waiting_requests_urgent_first_with_the_time_limit(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    housing = await open_case(dashboard, str(people["sara"]), "Hyresvärden säger upp mig")
    dashboard.clock.advance(timedelta(minutes=5))
    urgent = await open_case(
        dashboard,
        str(people["omar"]),
        "زوجي يضربني",
        category=EscalationCategory.VIOLENCE,
        urgent=True,
        terms=("يضربني",),
    )
    dashboard.clock.advance(timedelta(minutes=20))
    eva = await dashboard.signed_in("eva")
    page = (await eva.get("/cases")).text
    assert "2 requests" in page
    assert page.index(f'href="/cases/{urgent}"') < page.index(f'href="/cases/{housing}"')
    assert "Urgent" in page and "Violence or threats" in page and "Housing" in page
    assert str(people["omar"]) in page and "عمر" not in page  # the queue shows ids only
    assert page.count('class="late"') == 1  # the urgent one waited 20 minutes of 15
    assert "waiting for 20 minutes, the limit was" in page
    # Monday's request: by nine on Wednesday, as Tuesday is Epiphany, a public holiday.
    assert "take it by 7 Jan 2026 09:00" in page
    assert "No requests here." in (await eva.get("/cases", status="resolved")).text


async def test_a_case_page_shows_the_conversation_terms_and_is_audited(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    case_id = await open_case(
        dashboard,
        str(people["omar"]),
        "زوجي يضربني كل يوم",
        category=EscalationCategory.VIOLENCE,
        urgent=True,
        terms=("يضربني",),
    )
    eva = await dashboard.signed_in("eva")
    page = (await eva.get(f"/cases/{case_id}")).text
    assert f"Request #{case_id}" in page
    assert '<p class="text" dir="auto" lang="ar">زوجي يضربني كل يوم</p>' in page
    assert "“يضربني”" in page
    assert "A mentor was told" in page and "Amina Haddad" in page
    assert (AuditAction.READ_CASE, case_id) in await audit_actions(dashboard)
    assert (await eva.get("/cases/999999")).status_code == 404
    assert (await eva.get("/cases/abc")).status_code == 404


async def test_before_the_participant_agrees_only_the_topic_and_terms_are_shown(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    case_id = await open_case(
        dashboard,
        str(people["sara"]),
        "Han hotar mig",
        category=EscalationCategory.VIOLENCE,
        urgent=True,
        terms=("hotar",),
        shared=False,
    )
    eva = await dashboard.signed_in("eva")
    page = (await eva.get(f"/cases/{case_id}")).text
    assert "has not yet said whether their message may be read" in page
    assert "Han hotar mig" not in page and "“hotar”" in page


async def test_a_mentor_takes_a_request_and_the_participant_is_told(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    case_id = await open_case(dashboard, str(people["sara"]), "Jag har fått ett brev")
    amina = await dashboard.signed_in("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    await amina.get(f"/cases/{case_id}")
    taken = await amina.post(f"/cases/{case_id}/claim")
    assert "You have taken the request. The participant has been told." in taken.text
    case = await case_row(dashboard, case_id)
    assert case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id == people["amina"]
    assert "Amina har läst ditt ärende och svarar dig här." in await texts_to(
        dashboard, str(people["sara"])
    )
    assert (AuditAction.CHANGE_CASE, case_id) in await audit_actions(dashboard)
    # Taking it twice changes nothing and tells nobody again.
    again = await amina.post(f"/cases/{case_id}/claim")
    assert "Nothing changed" in again.text
    assert len(await texts_to(dashboard, str(people["sara"]))) == 1
    queue = (await amina.get("/cases", status="claimed")).text
    assert f'href="/cases/{case_id}"' in queue and "Amina Haddad" in queue


async def test_staff_give_a_request_to_another_mentor_who_is_told_in_telegram(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    case_id = await open_case(dashboard, str(people["sara"]), "Jag behöver hjälp med Kronofogden")
    eva = await dashboard.signed_in("eva")
    page = (await eva.get(f"/cases/{case_id}")).text
    assert "Take the request" not in page  # staff without a mentor's role give it on
    given = await eva.post(f"/cases/{case_id}/reassign", {"mentor": str(people["jonas"])})
    assert "The request is given to the mentor, who has been told." in given.text
    case = await case_row(dashboard, case_id)
    assert case.status is EscalationStatus.CLAIMED and case.assigned_mentor_id == people["jonas"]
    (notice,) = [text for text in await texts_to_mentor(dashboard, 7002)]
    assert f"Hjälpärende #{case_id}" in notice
    assert "Jag behöver hjälp med Kronofogden" in notice
    bad = await eva.post(f"/cases/{case_id}/reassign", {"mentor": "999999"})
    assert bad.status_code == 400
    assert (await case_row(dashboard, case_id)).assigned_mentor_id == people["jonas"]
    # Staff may close it too; the participant is told without a mentor's name.
    await eva.post(f"/cases/{case_id}/resolve")
    assert (await case_row(dashboard, case_id)).status is EscalationStatus.RESOLVED
    assert (await texts_to(dashboard, str(people["sara"])))[-1].startswith(
        "Ditt ärende är markerat som klart."
    )


async def test_marking_a_request_as_done_tells_the_participant_with_a_reopen_button(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    case_id = await open_case(dashboard, str(people["omar"]), "عندي مشكلة مع السكن")
    jonas = await dashboard.signed_in("jonas", role=StaffRole.MENTOR, mentor_id=people["jonas"])
    await jonas.get(f"/cases/{case_id}")
    done = await jonas.post(f"/cases/{case_id}/resolve")
    assert "The request is marked as done. The participant has been told." in done.text
    assert "Take the request" not in done.text and "Mark as done" not in done.text
    case = await case_row(dashboard, case_id)
    assert case.status is EscalationStatus.RESOLVED and case.resolved_at == dashboard.clock.now()
    told = await texts_to(dashboard, str(people["omar"]))
    # An open request is taken on the way, as with the Done button in Telegram.
    assert len(told) == 2 and "Jonas" in told[0] and "Jonas" in told[1]
    async with dashboard.database.session() as session:
        last = (
            await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        ).first()
        assert last is not None and "reply_markup" in last.payload
    resolved = (await jonas.get("/cases", status="resolved")).text
    assert f'href="/cases/{case_id}"' in resolved


async def test_a_mentor_is_refused_another_mentors_request_and_it_is_audited(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    omars = await open_case(dashboard, str(people["omar"]), "سري جدا")
    amina = await dashboard.signed_in("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    assert f'href="/cases/{omars}"' not in (await amina.get("/cases")).text
    refused = await amina.get(f"/cases/{omars}")
    assert refused.status_code == 403
    assert "You can only see requests from your own participants or sent to you." in refused.text
    assert "سري" not in refused.text
    for action in ("claim", "resolve"):
        forged = await amina.post(f"/cases/{omars}/{action}")
        assert forged.status_code == 403
    forged = await amina.post(f"/cases/{omars}/reassign", {"mentor": str(people["amina"])})
    assert forged.status_code == 403
    assert (await case_row(dashboard, omars)).status is EscalationStatus.OPEN
    assert await texts_to(dashboard, str(people["omar"])) == []
    refusals = [a for a in await audit_actions(dashboard) if a[0] is AuditAction.REFUSED_CASE]
    assert refusals == [(AuditAction.REFUSED_CASE, omars)] * 4


async def test_a_mentor_who_has_a_request_may_hand_it_on_but_not_take_anothers(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    case_id = await open_case(dashboard, str(people["sara"]), "Hjälp med bostad")
    async with UnitOfWork(dashboard.database) as uow:
        jonas = await uow.mentors.get(int(str(people["jonas"])))
        case = await uow.session.get(Escalation, case_id)
        assert jonas is not None and case is not None
        await escalation.reassign(uow, case, jonas, dashboard.clock.now())
        await uow.commit()
    # Amina is Sara's mentor: she sees the request, but Jonas has it now.
    amina = await dashboard.signed_in("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    page = (await amina.get(f"/cases/{case_id}")).text
    assert "Jonas Berg" in page and "Mark as done" not in page and "Give the request" not in page
    assert (await amina.post(f"/cases/{case_id}/resolve")).status_code == 403
    assert (await case_row(dashboard, case_id)).status is EscalationStatus.CLAIMED


async def test_a_form_without_its_csrf_token_changes_nothing(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    case_id = await open_case(dashboard, str(people["sara"]), "Jag har skulder")
    amina = await dashboard.signed_in("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    await amina.get(f"/cases/{case_id}")
    for action in ("claim", "resolve"):
        refused = await amina.post(f"/cases/{case_id}/{action}", token=None)
        assert refused.status_code == 403 and "This form has expired" in refused.text
        wrong = await amina.post(f"/cases/{case_id}/{action}", token="not-the-token")
        assert wrong.status_code == 403
    assert (await case_row(dashboard, case_id)).status is EscalationStatus.OPEN
    assert await texts_to(dashboard, str(people["sara"])) == []


async def test_the_queue_in_swedish(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    await open_case(dashboard, str(people["sara"]), "Hej")
    eva = await dashboard.signed_in("eva", language="sv")
    page = (await eva.get("/cases")).text
    assert "Hjälpärenden" in page and "Boende" in page and "Väntar" in page


async def test_the_overview_counts_waiting_requests_and_those_past_the_time_limit(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    await open_case(
        dashboard,
        str(people["omar"]),
        "زوجي يضربني",
        category=EscalationCategory.VIOLENCE,
        urgent=True,
        terms=("يضربني",),
    )
    await open_case(dashboard, str(people["sara"]), "Hyran")
    dashboard.clock.advance(timedelta(minutes=16))
    await dashboard.account("eva")
    eva = dashboard.visitor()
    page = (await eva.sign_in("eva")).text
    assert "<strong>2</strong> waiting to be taken" in page
    assert "<strong>1</strong> past the time limit" in page
    assert "Violence or threats: 1" in page and "Housing: 1" in page  # the chart's bars
    assert "Toward the project" in page and "have made at least one step forward" in page
    assert "(goal: 75%)" in page
    await dashboard.account("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    amina = dashboard.visitor()
    mine = (await amina.sign_in("amina")).text
    assert "<strong>1</strong> waiting to be taken" in mine and "past the time limit" not in mine
