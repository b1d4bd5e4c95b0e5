"""Staff and mentors use the dashboard in Chromium while the bot runs beside it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from playwright.async_api import Dialog, expect

from storage.models import StaffRole
from tests.e2e.dashboard import (
    add_account,
    chromium,
    dashboard_site,
    needs_chromium,
    new_page,
    screenshot,
    sign_in,
)
from tests.e2e.harness import Stack

pytestmark = needs_chromium

MENTOR_TELEGRAM_ID = 7101


async def join(stack: Stack, user_id: int, name: str, code: str, language: str = "Svenska") -> None:
    """A participant opens the invitation in Telegram and agrees."""
    person = await stack.person(user_id, name, "sv")
    await person.command("start", code)
    await person.press(language)
    await person.press("Ja, jag godkänner" if language == "Svenska" else "نعم، أوافق")
    await person.expect("Välkommen" if language == "Svenska" else "أهلًا وسهلًا")


async def test_signing_in_refuses_a_wrong_password_locks_out_and_expires(stack: Stack) -> None:
    await add_account(stack, "eva")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await page.goto("/")
        await expect(page).to_have_url(f"{site}/login")
        await screenshot(page, "01-sign-in")

        await sign_in(page, "eva", "not the password")
        await expect(page.get_by_role("alert")).to_have_text("The username or password is wrong.")
        await screenshot(page, "02-sign-in-refused")

        await sign_in(page, "eva")
        await expect(page.get_by_role("heading", name="Overview")).to_be_visible()

        stack.clock.advance(timedelta(minutes=31))
        await page.goto("/participants")
        await expect(page.get_by_role("alert")).to_have_text(
            "Your session has expired. Please sign in again."
        )
        await page.get_by_label("Username").fill("eva")
        await page.get_by_label("Password").fill("correct horse battery")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Participants")).to_be_visible()

        for attempt in range(5):
            other = await new_page(browser, site)
            await sign_in(other, "eva", f"wrong {attempt}")
        await expect(other.get_by_role("alert")).to_contain_text("locked for 15 minutes")
        await screenshot(other, "03-locked-out")


async def test_a_form_whose_csrf_token_is_missing_is_refused(stack: Stack) -> None:
    await stack.cohort()
    await add_account(stack, "eva")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await sign_in(page, "eva")
        await page.goto("/invites")
        await page.evaluate(
            "document.querySelector('form[action=\"/invites\"] input[name=csrf_token]').remove()"
        )
        await page.get_by_role("button", name="Create invitation").click()
        await expect(page.get_by_role("alert")).to_contain_text("This form has expired")
        await screenshot(page, "04-csrf-refused")
        await page.goto("/invites")
        await expect(page.get_by_text("No invitations yet.")).to_be_visible()


async def test_an_invitation_made_in_the_browser_brings_a_participant_who_is_then_found(
    stack: Stack,
) -> None:
    await stack.cohort()
    await stack.mentor(telegram_user_id=MENTOR_TELEGRAM_ID)
    amina_on_telegram = await stack.person(MENTOR_TELEGRAM_ID, "Amina")
    await add_account(stack, "eva")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await sign_in(page, "eva")
        await page.goto("/invites")
        await page.get_by_label("Group").select_option(label="Lumena vår")
        await page.get_by_label("Mentor").select_option(label="Amina Haddad")
        await page.get_by_role("button", name="Create invitation").click()
        await expect(page.get_by_role("status")).to_have_text("The invitation is created.")
        await expect(page.locator("svg.qr")).to_be_visible()
        await expect(page.locator("section[lang=ar]")).to_have_attribute("dir", "rtl")
        code = (await page.locator(".handout .code").inner_text()).strip()
        await screenshot(page, "05-invitation-print")

        await join(stack, 601, "Sara Håkansson", code)
        await amina_on_telegram.expect("Ny deltagare", "Lumena vår")
        await join(stack, 602, "عمر", await second_invite(page), language="العربية")

        await page.goto("/participants")
        await page.get_by_label("Search by id or name").fill("sara hakansson")
        await page.get_by_role("button", name="Show").click()
        await expect(page.get_by_role("status")).to_have_text("1 participant")
        assert "q=" not in page.url  # the name stayed out of the address
        await screenshot(page, "06-participant-search")
        await page.locator("table.list tbody tr a.mono").click()
        await expect(page.get_by_role("heading", name="Who looked")).to_be_visible()
        await expect(page.get_by_text("Amina Haddad")).to_be_visible()
        await expect(page.locator("table").last).to_contain_text("Opened the participant's page")
        await screenshot(page, "07-participant")

        await page.goto("/participants")
        await expect(page.locator("bdi[lang=ar]")).to_have_text("عمر")
        await screenshot(page, "08-participants")

        await page.goto("/invites")
        await expect(page.locator("tr", has_text=code)).to_contain_text("Used")
        page.once("dialog", accept)
        await page.locator("tr", has_text="Open").get_by_role("button", name="Revoke").click()
        await expect(page.get_by_role("status")).to_contain_text("The invitation is revoked.")
        await screenshot(page, "09-invitations")

        await page.goto("/")
        await expect(page.locator("p.figure").first).to_have_text("2 active participants")
        await screenshot(page, "10-overview")
        await page.goto("/audit")
        await screenshot(page, "11-audit-trail")


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def second_invite(page: object) -> str:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    await page.goto("/invites")
    await page.get_by_label("Group").select_option(label="Lumena vår")
    await page.get_by_role("button", name="Create invitation").click()
    code = (await page.locator(".handout .code").inner_text()).strip()
    await page.goto("/invites")
    await page.get_by_label("Group").select_option(label="Lumena vår")
    await page.get_by_role("button", name="Create invitation").click()  # stays open
    return code


async def test_a_mentor_is_refused_another_mentors_participant_in_the_browser(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina = await stack.mentor(name="Amina Haddad")
    jonas = await stack.mentor(name="Jonas Berg")
    await join(stack, 611, "Sara", await stack.invite(mentor_id=amina))
    await join(stack, 612, "Omar", await stack.invite(mentor_id=jonas))
    await add_account(stack, "amina", StaffRole.MENTOR, mentor_id=amina, language="sv")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site, locale="sv-SE")
        await page.goto("/login")
        await page.get_by_label("Användarnamn").fill("amina")
        await page.get_by_label("Lösenord").fill("correct horse battery")
        await page.get_by_role("button", name="Logga in").click()
        await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
        await screenshot(page, "12-mentor-overview-sv")
        await page.goto("/participants")
        rows = page.locator("table.list tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows).to_contain_text("Sara")
        omar_id = await public_id_of(stack, 612)
        response = await page.goto(f"/participants/{omar_id}")
        assert response is not None and response.status == 403
        await expect(page.get_by_role("alert")).to_have_text("Du kan bara se dina egna deltagare.")
        await screenshot(page, "13-mentor-refused")
        response = await page.goto("/reports")
        assert response is not None and response.status == 403


async def public_id_of(stack: Stack, telegram_user_id: int) -> str:
    async with stack.database.session() as session:
        from sqlalchemy import select

        from storage.models import Participant

        return str(
            await session.scalar(
                select(Participant.public_id).where(
                    Participant.telegram_user_id == telegram_user_id
                )
            )
        )


async def test_the_esf_export_downloads_with_the_right_rows(stack: Stack, tmp_path: Path) -> None:
    await stack.cohort()
    await stack.cohort("Alis höst")
    await join(stack, 621, "Sara", await stack.invite())
    await join(stack, 622, "Omar", await stack.invite(cohort="Alis höst"))
    await add_account(stack, "eva")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await sign_in(page, "eva")
        await page.goto("/reports")
        await page.get_by_label("From").fill("2026-01-01")
        await page.get_by_label("To and including").fill("2026-01-31")
        await screenshot(page, "14-reports")
        async with page.expect_download() as summary_download:
            await page.get_by_role("button", name="CSV: per group and gender").click()
        download = await summary_download.value
        assert download.suggested_filename == "stegvis-esf-2026-01-01--2026-01-31-summary.csv"
        path = tmp_path / "summary.csv"
        await download.save_as(path)
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
        assert rows[1:] == [
            ["Alis höst", "Not recorded", "0", "1", "1"],
            ["Lumena vår", "Not recorded", "0", "1", "1"],
            ["All groups", "", "0", "2", "2"],
        ]
        async with page.expect_download() as book_download:
            await page.get_by_role("button", name="Excel: both tables").click()
        book_path = tmp_path / "report.xlsx"
        await (await book_download.value).save_as(book_path)
        book = load_workbook(book_path)
        participants = [[c.value for c in row] for row in book["Participants"].iter_rows()]
        assert len(participants) == 3
        assert all(
            not str(cell).startswith(("Sara", "Omar")) for row in participants for cell in row
        )


async def test_a_campaign_made_in_the_browser_is_previewed_per_language_and_its_counts_rise(
    stack: Stack,
) -> None:
    from bot.jobs import run_campaigns

    swedish = "Välkommen på informationsträff på torsdag kl. 10!"
    arabic = "أهلًا بكم في اللقاء الإعلامي يوم الخميس الساعة 10!"
    await stack.cohort()
    await join(stack, 631, "Sara", await stack.invite())
    await join(stack, 632, "عمر", await stack.invite(), language="العربية")
    await add_account(stack, "eva")
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await sign_in(page, "eva")
        await page.get_by_role("link", name="Campaigns").click()
        await page.get_by_role("link", name="New campaign").click()
        await page.get_by_label("Name of the campaign").fill("Informationsträff")
        await page.get_by_label("Lumena vår").check()
        await page.locator("#text_sv").fill(swedish)
        await page.locator("#text_ar").fill(arabic)
        await expect(page.locator("#text_ar")).to_have_attribute("dir", "rtl")
        await page.get_by_label("Participants whose language has no text get").select_option(
            label="the Swedish text"
        )
        await page.get_by_label("Day and time (once)").fill("2026-01-05T09:05")
        await screenshot(page, "15-campaign-new")

        await page.get_by_role("button", name="Preview").click()
        await expect(page.get_by_role("status")).to_contain_text("Not saved yet.")
        sv_message = page.locator("article[data-locale=sv] .message")
        ar_message = page.locator("article[data-locale=ar] .message")
        await expect(sv_message).to_contain_text(swedish)
        await expect(sv_message).to_contain_text("Vill du pausa")
        await expect(ar_message).to_contain_text(arabic)
        await expect(ar_message).to_have_attribute("dir", "rtl")
        await expect(ar_message).to_have_attribute("lang", "ar")
        assert await ar_message.evaluate("node => getComputedStyle(node).direction") == "rtl"
        await expect(page.locator("dd.count")).to_have_text("2 participants")
        await expect(page.get_by_text("English: nobody in the groups reads it now")).to_be_visible()
        await screenshot(page, "16-campaign-preview")

        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_contain_text("The campaign is saved.")
        sent = page.locator("[data-count=sent]")
        await expect(sent).to_have_text("0")
        await screenshot(page, "17-campaign-scheduled")

        # Its time comes: the campaign job writes the outbox, the dispatcher sends through
        # the emulator, and the page's own polling shows the counts rise.
        stack.clock.advance(timedelta(minutes=5))
        assert stack.runtime is not None
        await run_campaigns(stack.runtime.deps)
        await stack.people[631].expect(swedish, "Vill du pausa")
        await stack.people[632].expect(arabic)
        await expect(sent).to_have_text("2")
        await expect(page.locator("[data-count=pending]")).to_have_text("0")
        await screenshot(page, "18-campaign-sent")

        await page.get_by_role("link", name="All campaigns").click()
        row = page.locator("tr", has_text="Informationsträff")
        await expect(row).to_contain_text("Once, 5 Jan 2026 09:05")
        await screenshot(page, "19-campaigns")


async def test_a_mentor_takes_and_closes_a_request_in_the_browser_and_the_participant_is_told(
    stack: Stack,
) -> None:
    await stack.cohort()
    amina = await stack.mentor(name="Amina Haddad", telegram_user_id=MENTOR_TELEGRAM_ID)
    amina_on_telegram = await stack.person(MENTOR_TELEGRAM_ID, "Amina")
    person = await stack.person(631, "Sara", "sv")
    await person.command("start", await stack.invite(mentor_id=amina))
    await person.press("Svenska")
    await person.press("Ja, jag godkänner")
    await person.expect("Välkommen")
    await person.command("help")
    await person.press("Boende")
    await person.say("Hyresvärden har sagt upp mitt kontrakt")
    await person.press("Ja, skicka", message=await person.expect("Det här får Amina se:"))
    await amina_on_telegram.expect("Hjälpärende #")
    await add_account(stack, "amina", StaffRole.MENTOR, mentor_id=amina)
    assert stack.runtime is not None
    async with dashboard_site(stack) as site, chromium() as browser:
        page = await new_page(browser, site)
        await sign_in(page, "amina")
        await expect(page.locator("#requests-h")).to_contain_text("Requests for help")
        await page.get_by_role("link", name="Requests for help", exact=True).first.click()
        await expect(page.get_by_role("status")).to_have_text("1 request")
        await screenshot(page, "20-requests-queue")
        await page.locator("table.cases tbody tr a").first.click()
        await expect(page.locator("ol.conversation")).to_contain_text(
            "Hyresvärden har sagt upp mitt kontrakt"
        )
        await expect(page.locator("dl.facts")).to_contain_text("“Hyresvärden”")
        await page.get_by_role("button", name="Take the request").click()
        await expect(page.get_by_role("status")).to_have_text(
            "You have taken the request. The participant has been told."
        )
        stack.runtime.dispatcher.wake()
        await person.expect("Amina har läst ditt ärende och svarar dig här.")
        await screenshot(page, "21-request-taken")

        page.once("dialog", accept)
        await page.get_by_role("button", name="Mark as done").click()
        await expect(page.get_by_role("status")).to_have_text(
            "The request is marked as done. The participant has been told."
        )
        stack.runtime.dispatcher.wake()
        done = await person.expect("Amina har markerat ditt ärende som klart.")
        assert done.button_labels == ["Öppna mitt ärende igen"]
        await expect(page.locator("table").last).to_contain_text("Marked as done")
        await screenshot(page, "22-request-done")
        await page.goto("/cases?status=resolved")
        await expect(page.locator("table.cases tbody tr")).to_have_count(1)
        await page.goto("/")
        await expect(page.locator("#requests-h")).to_be_visible()
        await expect(page.locator("#goals-h")).to_be_visible()
        await screenshot(page, "23-overview-with-requests-and-goals")
