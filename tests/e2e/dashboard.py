"""The dashboard in a real browser: the system's Chromium driven by Playwright, the app
served on loopback in the test's event loop, beside the bot and the Bot API emulator.

Playwright's own browser download is never used; without /usr/bin/chromium the browser
tests are skipped with that reason. Screenshots of each page go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from bot.domain import staff
from bot.web.app import create_app
from bot.web.server import serving
from storage.models import StaffRole
from storage.uow import UnitOfWork
from tests.e2e.harness import BOT_USERNAME, Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
SECRET = "browser-test-secret-" + "y" * 40

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium (install Debian's chromium package to run the browser tests)",
)


@asynccontextmanager
async def dashboard_site(stack: Stack) -> AsyncIterator[str]:
    """The dashboard of this stack's database and clock, at http://127.0.0.1:PORT."""
    app = create_app(
        stack.bot_settings(),
        stack.database,
        secret=SECRET,
        clock=stack.clock,
        randomness=stack.randomness,
        bot_username=BOT_USERNAME,
    )
    async with serving(app, "127.0.0.1", 0) as address:
        yield address


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, base_url: str, locale: str = "en-GB") -> Page:
    context = await browser.new_context(
        base_url=base_url, locale=locale, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    return await context.new_page()


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def add_account(
    stack: Stack,
    username: str,
    role: StaffRole = StaffRole.STAFF,
    mentor_id: int | None = None,
    language: str = "en",
) -> None:
    async with UnitOfWork(stack.database) as uow:
        await staff.create_account(
            uow,
            username=username,
            password=PASSWORD,
            role=role,
            mentor_id=mentor_id,
            language=language,
            now=stack.clock.now(),
        )
        await uow.commit()


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
