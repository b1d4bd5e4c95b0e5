"""`stegvis sandbox`: the emulator, the bot and the chat page together, with demo data.

Anyone can try Stegvis with no Telegram account: the page lets them act as a demo
participant (one per language) or as the demo mentor. The data lives in an embedded
SQLite file in the data folder, so a second start continues where the first stopped.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import SystemClock, SystemRandomness
from bot.config import Settings
from bot.domain import onboarding as domain
from bot.runtime import SANDBOX_TOKEN, BotRuntime, configure_encryption
from bot.sandbox.emulator import run_emulator
from bot.sandbox.state import Persona
from storage import migrate
from storage.db import Database
from storage.uow import UnitOfWork

DEMO_COHORT = "Demo"
DEMO_MENTOR_ID = 900001
# Someone with no invitation, to try open sign-up (Amina answers it with /pending).
DEMO_VISITOR_ID = 900104
DEMO_BOT_USERNAME = "stegvis_sandbox_bot"


@dataclass(frozen=True)
class DemoParticipant:
    user_id: int
    first_name: str
    language_code: str


DEMO_PARTICIPANTS = (
    DemoParticipant(900101, "Sara", "sv"),
    DemoParticipant(900102, "Omar", "ar"),
    DemoParticipant(900103, "Alex", "en"),
)


async def seed_demo(database: Database) -> dict[int, str]:
    """A demo cohort, a mentor on Telegram, and an open invite per demo participant who has
    not joined yet. Returns {telegram user id: invite code}."""
    clock, randomness = SystemClock(), SystemRandomness()
    codes: dict[int, str] = {}
    async with UnitOfWork(database) as uow:
        if await uow.cohorts.by_name(DEMO_COHORT) is None:
            await domain.create_cohort(uow, DEMO_COHORT, clock.now())
        mentor = await uow.mentors.by_telegram_id(DEMO_MENTOR_ID)
        if mentor is None:
            mentor = await domain.create_mentor(
                uow,
                name="Amina Haddad",
                languages=["sv", "ar", "en"],
                now=clock.now(),
                telegram_user_id=DEMO_MENTOR_ID,
                is_coordinator=True,
            )
        for person in DEMO_PARTICIPANTS:
            if await uow.participants.by_telegram_id(person.user_id) is not None:
                continue
            invite = await domain.create_invite(
                uow,
                now=clock.now(),
                randomness=randomness,
                valid_for=timedelta(days=365),
                cohort_name=DEMO_COHORT,
                mentor_id=mentor.id,
            )
            codes[person.user_id] = invite.code
        await uow.commit()
    return codes


def personas(codes: dict[int, str]) -> list[Persona]:
    people = [
        Persona(
            user_id=person.user_id,
            first_name=person.first_name,
            language_code=person.language_code,
            role="Participant",
            start_parameter=codes.get(person.user_id),
        )
        for person in DEMO_PARTICIPANTS
    ]
    people.append(
        Persona(
            user_id=DEMO_VISITOR_ID,
            first_name="Nour",
            language_code="ar",
            role="Visitor · send /start to sign up",
        )
    )
    people.append(
        Persona(user_id=DEMO_MENTOR_ID, first_name="Amina", language_code="sv", role="Mentor")
    )
    return people


DEMO_STAFF = "staff"
DEMO_MENTOR_ACCOUNT = "amina"


async def seed_demo_accounts(database: Database) -> dict[str, str]:
    """A staff account and the demo mentor's account for the dashboard, each with a new
    random password at every start (printed), so a sandbox database never carries a
    password anyone could guess. Returns {username: password}."""
    from bot.domain import staff
    from storage.models import StaffRole

    clock, randomness = SystemClock(), SystemRandomness()
    passwords: dict[str, str] = {}
    async with UnitOfWork(database) as uow:
        mentor = await uow.mentors.by_telegram_id(DEMO_MENTOR_ID)
        for username, role in (
            (DEMO_STAFF, StaffRole.STAFF),
            (DEMO_MENTOR_ACCOUNT, StaffRole.MENTOR),
        ):
            password = randomness.token(12)
            if await staff.accounts(uow).by_username(username) is None:
                await staff.create_account(
                    uow,
                    username=username,
                    password=password,
                    role=role,
                    mentor_id=mentor.id if role is StaffRole.MENTOR and mentor else None,
                    language="en" if role is StaffRole.STAFF else "sv",
                    now=clock.now(),
                )
            else:
                await staff.set_password(uow, username, password, clock.now())
            passwords[username] = password
        await uow.commit()
    return passwords


async def run_sandbox(settings: Settings, ready: Callable[[str], None]) -> None:
    configure_encryption(settings)
    database = Database(settings.resolved_database_url)
    await migrate.upgrade(database)
    codes = await seed_demo(database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_emulator(
        SANDBOX_TOKEN,
        host=settings.sandbox_host,
        port=settings.sandbox_port,
        personas=personas(codes),
        bot_username=DEMO_BOT_USERNAME,
    ) as emulator:
        bot_settings = settings.model_copy(
            update={
                "telegram_base_url": emulator.bot_api_url,
                "telegram_file_url": emulator.file_url,
                "bot_username": DEMO_BOT_USERNAME,
            }
        )
        from bot.jobs import default_jobs

        runtime = BotRuntime(bot_settings, database, token=SANDBOX_TOKEN, jobs=default_jobs())
        await runtime.start()
        from bot.web.app import create_app
        from bot.web.server import serving, web_secret

        passwords = await seed_demo_accounts(database)
        dashboard = create_app(
            bot_settings, database, secret=web_secret(settings), bot_username=DEMO_BOT_USERNAME
        )
        try:
            async with serving(dashboard, settings.web_host, settings.web_port) as address:
                lines = [
                    f"Stegvis sandbox: open {emulator.base_url}/ in a browser.",
                    f"Staff dashboard: {address}/",
                    f"  staff account: {DEMO_STAFF} / {passwords[DEMO_STAFF]}",
                    f"  mentor account (Amina): {DEMO_MENTOR_ACCOUNT} / "
                    f"{passwords[DEMO_MENTOR_ACCOUNT]}",
                    f"Data: {settings.resolved_database_url}",
                ]
                for person in DEMO_PARTICIPANTS:
                    if person.user_id in codes:
                        lines.append(
                            f"  {person.first_name} can join with /start {codes[person.user_id]}"
                        )
                lines.append("  Nour can sign up with /start; Amina answers with /pending")
                lines.append("Stop with Ctrl+C.")
                ready("\n".join(lines))
                await stop.wait()
        finally:
            await runtime.stop()
    await database.dispose()
