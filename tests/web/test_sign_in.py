"""Signing in to the dashboard over HTTP: refusals, lock-out, expiry, CSRF, roles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import AuditAction, AuditEvent, StaffRole
from tests.web.support import Dashboard, csrf_of


async def audit_actions(dashboard: Dashboard) -> list[AuditAction]:
    async with dashboard.database.session() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [event.action for event in events]


async def test_a_staff_member_signs_in_and_lands_on_the_overview(dashboard: Dashboard) -> None:
    await dashboard.account("eva")
    eva = dashboard.visitor()
    page = await eva.sign_in("eva")
    assert page.status_code == 200 and page.url.path == "/"
    assert "<h1>Overview</h1>" in page.text and "eva · Staff" in page.text
    assert await audit_actions(dashboard) == [AuditAction.SIGN_IN]


async def test_the_session_cookie_is_signed_http_only_and_same_site(dashboard: Dashboard) -> None:
    await dashboard.account("margareta")
    margareta = dashboard.visitor()
    await margareta.get("/login")
    response = await margareta.client.post(
        "/login",
        data={
            "username": "margareta",
            "password": "correct horse battery",
            "csrf_token": margareta.token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=36000" in cookie
    # A long name, so a random signature cannot contain it by chance.
    assert "margareta" not in cookie.split(";")[0].lower()


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    dashboard: Dashboard,
) -> None:
    await dashboard.account("eva")
    eva = dashboard.visitor()
    wrong = await eva.sign_in("eva", "not the password")
    unknown = await eva.sign_in("nobody", "not the password")
    for page in (wrong, unknown):
        assert page.status_code == 401
        assert "The username or password is wrong." in page.text
    assert (await eva.get("/")).url.path == "/login"
    assert await audit_actions(dashboard) == [AuditAction.SIGN_IN_FAILED]


async def test_five_wrong_passwords_lock_the_account_and_say_for_how_long(
    dashboard: Dashboard,
) -> None:
    await dashboard.account("eva", language="sv")
    eva = dashboard.visitor()
    for attempt in range(4):
        assert (await eva.sign_in("eva", f"wrong {attempt}")).status_code == 401
    locked = await eva.sign_in("eva", "wrong again")
    assert locked.status_code == 429
    assert "The account is locked for 15 minutes." in locked.text
    dashboard.clock.advance(timedelta(minutes=14))
    assert "locked for 1 minute." in (await eva.sign_in("eva")).text
    dashboard.clock.advance(timedelta(minutes=2))
    assert (await eva.sign_in("eva")).url.path == "/"
    assert AuditAction.LOCKED_OUT in await audit_actions(dashboard)


async def test_an_idle_session_expires_and_sign_in_leads_back_to_the_page(
    dashboard: Dashboard,
) -> None:
    eva = await dashboard.signed_in("eva")
    dashboard.clock.advance(timedelta(minutes=29))
    assert (await eva.get("/invites")).url.path == "/invites"
    dashboard.clock.advance(timedelta(minutes=31))
    expired = await eva.get("/invites")
    assert expired.url.path == "/login" and expired.url.params["next"] == "/invites"
    assert "Your session has expired. Please sign in again." in expired.text
    back = await eva.post(
        "/login",
        {"username": "eva", "password": "correct horse battery", "next": "/invites"},
    )
    assert back.url.path == "/invites"


async def test_a_busy_session_still_ends_after_ten_hours(dashboard: Dashboard) -> None:
    eva = await dashboard.signed_in("eva")
    for _ in range(40):
        dashboard.clock.advance(timedelta(minutes=15))
        assert (await eva.get("/")).url.path == "/"
    dashboard.clock.advance(timedelta(minutes=1))
    assert (await eva.get("/")).url.path == "/login"


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    dashboard: Dashboard,
) -> None:
    eva = await dashboard.signed_in("eva")
    copied = dict(eva.client.cookies)
    dashboard.clock.advance(timedelta(seconds=5))
    signed_out = await eva.post("/logout")
    assert "You have signed out." in signed_out.text
    thief = dashboard.visitor()
    thief.client.cookies.update(copied)
    page = await thief.get("/participants")
    assert page.url.path == "/login"
    assert "Your session has ended." in page.text


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    dashboard: Dashboard,
) -> None:
    await dashboard.account("eva")
    await dashboard.cohort("Lumena vår")
    eva = dashboard.visitor()
    await eva.sign_in("eva")
    await eva.get("/invites")
    for token in (None, "forged-token"):
        refused = await eva.post("/invites", {"cohort": "1", "days": "30"}, token=token)
        assert refused.status_code == 403
        assert "This form has expired or was not sent from this page." in refused.text
    assert "No invitations yet." in (await eva.get("/invites")).text


async def test_signing_in_needs_the_token_of_the_sign_in_page(dashboard: Dashboard) -> None:
    await dashboard.account("eva")
    eva = dashboard.visitor()
    refused = await eva.post(
        "/login", {"username": "eva", "password": "correct horse battery"}, token=None
    )
    assert refused.status_code == 403
    assert (await eva.get("/")).url.path == "/login"


async def test_a_forged_or_edited_cookie_counts_as_no_session(dashboard: Dashboard) -> None:
    eva = await dashboard.signed_in("eva")
    value = eva.client.cookies["stegvis_session"]
    eva.client.cookies.set(
        "stegvis_session", value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB")
    )
    assert (await eva.get("/")).url.path == "/login"


async def test_a_mentor_is_refused_the_staff_pages(dashboard: Dashboard) -> None:
    mentor_id = await dashboard.mentor("Jonas Berg")
    jonas = await dashboard.signed_in("jonas", role=StaffRole.MENTOR, mentor_id=mentor_id)
    home = await jonas.get("/")
    assert 'href="/reports"' not in home.text and 'href="/audit"' not in home.text
    for path in ("/reports", "/audit"):
        page = await jonas.get(path)
        assert page.status_code == 403
        assert "This page is for project staff only." in page.text
    export = await jonas.post("/reports/esf", {"start": "2026-01-01", "end": "2026-01-31"})
    assert export.status_code == 403


async def test_the_interface_language_is_the_staff_members_choice(dashboard: Dashboard) -> None:
    eva = await dashboard.signed_in("eva", language="en")
    switched = await eva.post("/language", {"language": "sv", "next": "/participants"})
    assert switched.url.path == "/participants"
    assert "Språket är ändrat." in switched.text and "<h1>Deltagare</h1>" in switched.text
    elsewhere = dashboard.visitor()
    assert "<h1>Översikt</h1>" in (await elsewhere.sign_in("eva")).text
    signed_out = await elsewhere.post("/logout")
    assert "Du har loggat ut." in signed_out.text
    assert (await eva.post("/language", {"language": "ar"})).status_code == 400


async def test_the_sign_in_page_speaks_the_browsers_language(dashboard: Dashboard) -> None:
    visitor = dashboard.visitor()
    swedish = await visitor.client.get("/login", headers={"accept-language": "sv-SE,sv;q=0.9"})
    assert "Logga in i Stegvis" in swedish.text and '<html lang="sv">' in swedish.text
    english = dashboard.visitor()
    page = await english.client.get("/login", headers={"accept-language": "en-GB,en;q=0.8"})
    assert "Sign in to Stegvis" in page.text
    assert csrf_of(page.text)


async def test_every_page_says_not_to_cache_frame_or_leak_its_address(
    dashboard: Dashboard,
) -> None:
    page = await dashboard.visitor().get("/login")
    headers = page.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


async def test_sign_in_never_redirects_to_another_site(dashboard: Dashboard) -> None:
    await dashboard.account("eva")
    eva = dashboard.visitor()
    await eva.get("/login")
    response = await eva.client.post(
        "/login",
        data={
            "username": "eva",
            "password": "correct horse battery",
            "next": "//evil.example/",
            "csrf_token": eva.token,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
