"""What staff and mentors see and do on the dashboard's pages, over HTTP."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TypedDict

from openpyxl import load_workbook
from sqlalchemy import select

from bot.domain import escalation, selfrating, steps
from storage.models import (
    AuditAction,
    AuditEvent,
    Checkin,
    CheckinStatus,
    CheckinStep,
    EscalationCategory,
    EscalationSource,
    FlagKind,
    Invite,
    ParticipantFlag,
    ParticipantStatus,
    StaffRole,
    StepKind,
)
from storage.uow import UnitOfWork
from tests.web.support import Dashboard

COHORT = "Lumena vår"


class People(TypedDict):
    """The mentors' ids and the participants' public ids that `project` creates."""

    amina: int
    jonas: int
    sara: str
    omar: str
    lina: str


async def project(dashboard: Dashboard) -> People:
    """Two mentors with a participant each, and one participant without a mentor yet."""
    await dashboard.cohort(COHORT)
    await dashboard.cohort("Alis höst")
    amina = await dashboard.mentor("Amina Haddad", ["ar", "sv"])
    jonas = await dashboard.mentor("Jonas Berg")
    return {
        "amina": amina,
        "jonas": jonas,
        "sara": await dashboard.participant(
            "Sara Håkansson", cohort=COHORT, mentor_id=amina, gender="woman"
        ),
        "omar": await dashboard.participant(
            "عمر الأحمد", cohort=COHORT, mentor_id=jonas, locale="ar", gender="man"
        ),
        "lina": await dashboard.participant(
            "Lina", cohort="Alis höst", locale="en", unreachable=True
        ),
    }


async def audit_rows(dashboard: Dashboard) -> list[AuditEvent]:
    async with dashboard.database.session() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


async def test_the_overview_counts_participants_per_group_and_shows_charts(
    dashboard: Dashboard,
) -> None:
    await project(dashboard)
    await dashboard.participant(
        "Ended", cohort=COHORT, status=ParticipantStatus.ENDED, joined_ago=timedelta(days=40)
    )
    await dashboard.account("eva")
    eva = dashboard.visitor()
    page = (await eva.sign_in("eva")).text
    assert "<strong>3</strong> active participants" in page
    assert "<strong>1</strong> participant cannot be reached on Telegram" in page
    assert "<strong>4</strong> joined in the last twelve weeks" in page
    assert page.count("<svg") >= 3 and 'role="img"' in page
    assert "Lumena vår: 2" in page  # the bar's title: taking part in the group
    assert "Women: 1" in page and "Men: 1" in page and "Not recorded: 1" in page


async def test_a_mentor_sees_only_their_own_participants(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    await dashboard.account("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    amina = dashboard.visitor()
    overview = (await amina.sign_in("amina")).text
    assert "<strong>1</strong> active participant" in overview
    listing = (await amina.get("/participants")).text
    assert people["sara"] in listing and "Sara Håkansson" in listing
    assert people["omar"] not in listing and people["lina"] not in listing
    search = (await amina.post("/participants", {"q": "omar"})).text
    assert "No participant matches." in search


async def test_a_mentor_is_refused_another_mentors_participant_and_it_is_audited(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    amina = await dashboard.signed_in("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    refused = await amina.get(f"/participants/{people['omar']}")
    assert refused.status_code == 403
    assert "You can only see your own participants." in refused.text
    assert "عمر" not in refused.text
    own = await amina.get(f"/participants/{people['sara']}")
    assert own.status_code == 200 and "Sara Håkansson" in own.text
    assert "Who looked" not in own.text  # the trail is for staff
    actions = [row.action for row in await audit_rows(dashboard)]
    assert actions[-2:] == [AuditAction.REFUSED_PARTICIPANT, AuditAction.READ_PARTICIPANT]
    assert (await amina.get("/participants/NOSUCH")).status_code == 404
    assert (await amina.get("/participants/..%2Fetc")).status_code == 404


async def test_search_finds_a_name_without_case_or_accents_and_a_pseudonymous_id(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    eva = await dashboard.signed_in("eva")
    await eva.get("/participants")
    found = (await eva.post("/participants", {"q": "sara hakansson"})).text
    assert people["sara"] in found and people["omar"] not in found
    assert "1 participant" in found
    arabic = (await eva.post("/participants", {"q": "عمر"})).text
    assert people["omar"] in arabic and '<bdi dir="auto" lang="ar">عمر الأحمد</bdi>' in arabic
    by_id = (await eva.post("/participants", {"q": str(people["lina"]).lower()})).text
    assert people["lina"] in by_id and people["sara"] not in by_id
    too_long = await eva.post("/participants", {"q": "x" * 5000})
    assert too_long.status_code == 200 and "No participant matches." in too_long.text
    assert AuditAction.SEARCH_PARTICIPANTS in [row.action for row in await audit_rows(dashboard)]


async def test_the_list_filters_by_group_status_language_and_reachability(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    eva = await dashboard.signed_in("eva")
    arabic = (await eva.get("/participants", language="ar")).text
    assert people["omar"] in arabic and people["sara"] not in arabic
    group = (await eva.get("/participants", cohort="2")).text
    assert people["lina"] in group and people["sara"] not in group
    unreachable = (await eva.get("/participants", reach="unreachable")).text
    assert people["lina"] in unreachable and people["omar"] not in unreachable
    ended = (await eva.get("/participants", status="ended")).text
    assert "No participant matches." in ended
    nonsense = await eva.get("/participants", status="<script>", cohort="x", page="-1")
    assert nonsense.status_code == 200 and "3 participants" in nonsense.text


async def test_a_participant_page_records_each_look_and_shows_staff_who_looked(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    await dashboard.account("eva")
    anna = await dashboard.signed_in("anna")
    await anna.get(f"/participants/{people['omar']}")
    eva = dashboard.visitor()
    await eva.sign_in("eva")
    dashboard.clock.advance(timedelta(minutes=3))
    page = (await eva.get(f"/participants/{people['omar']}")).text
    assert "Jonas Berg" in page and COHORT in page and "العربية" in page
    trail = page.split("Who looked")[1]
    assert trail.index("eva") < trail.index("anna")  # newest first
    assert trail.count("Opened the participant&#39;s page") == 2
    audit = (await eva.get("/audit")).text
    assert audit.count(f'href="/participants/{people["omar"]}"') == 2


async def _records_of(dashboard: Dashboard, public_id: str, mentor_id: int) -> None:
    """A check-in with a note and an open flag, a step, two self-ratings, a shared case
    and a draft the participant has not shared."""
    now = dashboard.clock.now()
    instrument = selfrating.load_instrument(dashboard.settings.selfrating_file)
    async with UnitOfWork(dashboard.database) as uow:
        participant = await uow.participants.by_public_id(public_id)
        assert participant is not None
        checkin = Checkin(
            participant_id=participant.id,
            due_at=now - timedelta(days=2),
            opened_at=now - timedelta(days=2),
            status=CheckinStatus.ANSWERED,
            step=CheckinStep.DONE,
            mood=2,
            activities=["apply", "course"],
            wants_help=True,
            note="أحتاج مساعدة في السيرة الذاتية",
            answered_at=now - timedelta(days=2),
        )
        uow.session.add(checkin)
        await uow.session.flush()
        uow.session.add(
            ParticipantFlag(
                participant_id=participant.id,
                kind=FlagKind.LOW_MOOD,
                checkin_id=checkin.id,
                raised_at=now - timedelta(days=2),
            )
        )
        await steps.record_by_mentor(
            uow,
            participant=participant,
            mentor_id=mentor_id,
            kind=StepKind.INTERNSHIP,
            taken_on=(now - timedelta(days=1)).date(),
            now=now,
        )
        for days_ago, score in ((20, 2), (3, 4)):
            at = now - timedelta(days=days_ago)
            rating, _ = await selfrating.start_or_resume(uow, participant.id, instrument, at)
            for index in range(len(instrument.themes)):
                await selfrating.answer(uow, rating, instrument, index, score, at)
        for urgent, shared in ((True, True), (False, False)):
            case = await escalation.open_case(
                uow,
                participant=participant,
                category=EscalationCategory.DEBT if urgent else EscalationCategory.HOUSING,
                urgent=urgent,
                terms=(),
                source=EscalationSource.TEXT,
                now=now,
            )
            if urgent:
                await escalation.route(uow, case, participant, now, dashboard.settings.zone)
            if shared:
                await escalation.share(uow, case, participant, now, dashboard.settings.zone)
        await uow.commit()


async def test_a_participant_page_shows_check_ins_steps_self_ratings_and_requests_for_help(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    await _records_of(dashboard, people["omar"], people["jonas"])
    jonas = await dashboard.signed_in("jonas", StaffRole.MENTOR, mentor_id=people["jonas"])
    page = (await jonas.get(f"/participants/{people['omar']}")).text

    checkins = page.split('id="p-checkins-h"')[1].split("</section>")[0]
    assert "Hard weeks twice in a row" in checkins
    assert "🙁" in checkins and "Hard" in checkins
    assert "Job applications, SFI or another course" in checkins
    assert '<q dir="auto" lang="ar">أحتاج مساعدة في السيرة الذاتية</q>' in checkins
    assert "Yes" in checkins and "Answered" in checkins

    step_part = page.split('id="p-steps-h"')[1].split("</section>")[0]
    assert "Internship" in step_part and "Jonas Berg" in step_part

    rating = page.split('id="p-rating-h"')[1].split("</section>")[0]
    assert '<img class="rating-chart" src="data:image/png;base64,' in rating
    assert "Health, Everyday life, Belief in a job" in rating
    assert rating.count('<td class="num">2</td>') == 6
    assert rating.count('<td class="num">4</td>') == 6

    cases = page.split('id="p-cases-h"')[1].split("</section>")[0]
    assert cases.count('href="/cases/') == 1  # the draft that was not shared is not shown
    assert "Money and debts" in cases and "Urgent" in cases and "Waiting" in cases
    assert "Housing" not in cases

    eva = await dashboard.signed_in("eva", language="sv")
    swedish = (await eva.get(f"/participants/{people['omar']}")).text
    assert "Incheckningar" in swedish and "Självskattning" in swedish
    assert "Hälsa, Vardagen" in swedish  # the themes in the viewer's language


async def test_a_participant_page_without_records_says_so(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    eva = await dashboard.signed_in("eva")
    page = (await eva.get(f"/participants/{people['sara']}")).text
    assert "No check-in yet." in page and "No step forward recorded yet." in page
    assert "No self-rating yet." in page and "No request for help." in page
    assert "data:image/png" not in page


async def test_staff_create_print_and_revoke_an_invitation(dashboard: Dashboard) -> None:
    people = await project(dashboard)
    eva = await dashboard.signed_in("eva")
    await eva.get("/invites")
    printed = await eva.post(
        "/invites", {"cohort": "1", "mentor": str(people["jonas"]), "days": "14"}
    )
    assert printed.url.path.endswith("/print")
    assert "The invitation is created." in printed.text
    async with dashboard.database.session() as session:
        invite = (await session.scalars(select(Invite).order_by(Invite.id.desc()))).first()
    assert invite is not None and invite.mentor_id == people["jonas"]
    assert invite.expires_at == dashboard.clock.now() + timedelta(days=14)
    link = f"https://t.me/stegvis_test_bot?start={invite.code}"
    assert link in printed.text and '<svg width="' in printed.text
    assert "Gå med i Stegvis" in printed.text and "الانضمام إلى Stegvis" in printed.text
    assert 'lang="ar" dir="rtl"' in printed.text

    listing = await eva.get("/invites")
    assert invite.code in listing.text
    revoked = await eva.post(f"/invites/{invite.id}/revoke")
    assert "The invitation is revoked." in revoked.text
    async with dashboard.database.session() as session:
        stored = await session.get(Invite, invite.id)
        assert stored is not None and stored.revoked_at == dashboard.clock.now()
    again = await eva.post(f"/invites/{invite.id}/revoke")
    assert "Only an open invitation can be revoked." in again.text
    actions = [row.action for row in await audit_rows(dashboard)]
    assert AuditAction.CREATE_INVITE in actions and AuditAction.REVOKE_INVITE in actions


async def test_a_mentors_invitations_are_their_own_whatever_the_form_says(
    dashboard: Dashboard,
) -> None:
    people = await project(dashboard)
    await dashboard.account("amina", role=StaffRole.MENTOR, mentor_id=people["amina"])
    await dashboard.account("jonas", role=StaffRole.MENTOR, mentor_id=people["jonas"])
    amina = dashboard.visitor()
    await amina.sign_in("amina")
    await amina.get("/invites")
    await amina.post("/invites", {"cohort": "1", "mentor": str(people["jonas"]), "days": "7"})
    async with dashboard.database.session() as session:
        invite = (await session.scalars(select(Invite).order_by(Invite.id.desc()))).first()
    assert invite is not None and invite.mentor_id == people["amina"]
    jonas = dashboard.visitor()
    await jonas.sign_in("jonas")
    assert invite.code not in (await jonas.get("/invites")).text
    assert (await jonas.post(f"/invites/{invite.id}/revoke")).status_code == 404
    assert (await jonas.get(f"/invites/{invite.id}/print")).status_code == 404


async def test_a_bad_invitation_form_gets_a_short_answer_and_creates_nothing(
    dashboard: Dashboard,
) -> None:
    await project(dashboard)
    eva = await dashboard.signed_in("eva")
    await eva.get("/invites")
    for form in ({"cohort": "1", "days": "0"}, {"cohort": "99", "days": "5"}, {"days": "x"}):
        page = await eva.post("/invites", form)
        assert page.status_code == 400
    async with dashboard.database.session() as session:
        assert len((await session.scalars(select(Invite))).all()) == 3  # the project's own


async def test_the_esf_export_counts_by_group_and_gender_with_no_names(
    dashboard: Dashboard,
) -> None:
    await project(dashboard)
    await dashboard.participant(
        "=HYPERLINK(evil)", cohort=COHORT, gender="woman", joined_ago=timedelta(days=60)
    )
    eva = await dashboard.signed_in("eva")
    await eva.get("/reports")
    period = {"start": "2025-12-01", "end": "2026-01-31"}
    summary = await eva.post("/reports/esf", {**period, "file": "summary.csv"})
    assert summary.headers["content-disposition"] == (
        'attachment; filename="stegvis-esf-2025-12-01--2026-01-31-summary.csv"'
    )
    rows = list(csv.reader(io.StringIO(summary.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Group", "Gender"]
    # The participant who joined in November was taking part before the period began.
    assert ["Lumena vår", "Women", "1", "1", "2"] in rows
    assert ["Lumena vår", "Men", "0", "1", "1"] in rows
    assert ["Alis höst", "Not recorded", "0", "1", "1"] in rows
    assert rows[-1] == ["All groups", "", "1", "3", "4"]

    each = await eva.post("/reports/esf", {**period, "file": "participants.csv"})
    text = each.content.decode("utf-8-sig")
    assert "Sara" not in text and "عمر" not in text and "HYPERLINK" not in text
    assert len(list(csv.reader(io.StringIO(text)))) == 5

    workbook = await eva.post("/reports/esf", {**period, "file": "xlsx"})
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["Summary", "Participants"]
    sheet = [[cell.value for cell in row] for row in book["Summary"].iter_rows()]
    assert ["Lumena vår", "Women", 1, 1, 2] in sheet
    assert len(list(book["Participants"].iter_rows())) == 5
    exports = [row for row in await audit_rows(dashboard) if row.action is AuditAction.EXPORT]
    assert [row.detail for row in exports] == [
        "esf 2025-12-01--2026-01-31 summary.csv",
        "esf 2025-12-01--2026-01-31 participants.csv",
        "esf 2025-12-01--2026-01-31 xlsx",
    ]


async def test_a_cell_that_a_spreadsheet_would_run_stays_text(dashboard: Dashboard) -> None:
    await dashboard.cohort("=cmd|' /C calc'!A0")
    await dashboard.participant("Sam", cohort="=cmd|' /C calc'!A0")
    eva = await dashboard.signed_in("eva", language="sv")
    await eva.get("/reports")
    export = await eva.post(
        "/reports/esf", {"start": "2026-01-01", "end": "2026-01-31", "file": "summary.csv"}
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Grupp" and rows[1][0] == "'=cmd|' /C calc'!A0"


async def test_an_impossible_report_period_gets_a_short_answer(dashboard: Dashboard) -> None:
    eva = await dashboard.signed_in("eva")
    await eva.get("/reports")
    backwards = await eva.post(
        "/reports/esf", {"start": "2026-02-01", "end": "2026-01-01", "file": "xlsx"}
    )
    assert backwards.status_code == 400 and "The period must end after it starts" in backwards.text
    garbage = await eva.post("/reports/esf", {"start": "soon", "end": "", "file": "pdf"})
    assert garbage.status_code == 400 and "Give a start and an end date" in garbage.text


async def test_a_long_list_comes_in_pages_of_fifty(dashboard: Dashboard) -> None:
    await dashboard.cohort(COHORT)
    for number in range(53):
        await dashboard.participant(
            f"Person {number}", cohort=COHORT, joined_ago=timedelta(hours=number + 1)
        )
    eva = await dashboard.signed_in("eva")
    first = (await eva.get("/participants")).text
    assert "53 participants" in first and first.count('class="mono">P') == 50
    assert ">Person 0<" in first and ">Person 52<" not in first
    second = (await eva.get("/participants", page="2")).text
    assert second.count('class="mono">P') == 3 and ">Person 52<" in second
    beyond = (await eva.get("/participants", page="99")).text
    assert beyond.count('class="mono">P') == 3
