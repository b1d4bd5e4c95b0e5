"""`stegvis`: run the bot, try it in the sandbox, and the staff's everyday commands.

Each command parses its options, calls the same domain functions the bot uses, and
prints a short result; a wrong setting or option ends with one clear line and exit code 2.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bot.clock import SystemClock, SystemRandomness
from bot.config import Settings, SettingsError, load_settings
from bot.dispatch import Dispatcher, DispatchPolicy
from bot.domain import onboarding as domain
from storage import migrate
from storage.db import Database, unreachable
from storage.models import InviteKind, StaffRole
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.domain.report import Report
    from bot.runtime import BotRuntime

T = TypeVar("T")

app = typer.Typer(help="Stegvis: a mentoring bot for labour-market projects.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
cohort_app = typer.Typer(help="Cohorts (groups of participants).", no_args_is_help=True)
mentor_app = typer.Typer(help="Mentors and coordinators.", no_args_is_help=True)
invite_app = typer.Typer(help="Invitations to join, as links and QR codes.", no_args_is_help=True)
i18n_app = typer.Typer(help="Message catalogs.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True)
staff_app = typer.Typer(help="Accounts for the staff dashboard.", no_args_is_help=True)
campaign_app = typer.Typer(help="Messages to a group (campaigns).", no_args_is_help=True)
signup_app = typer.Typer(
    help="Open sign-up: applications waiting for an answer.", no_args_is_help=True
)
participant_app = typer.Typer(help="A participant's journey.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cohort_app, name="cohort")
app.add_typer(mentor_app, name="mentor")
app.add_typer(invite_app, name="invite")
app.add_typer(i18n_app, name="i18n")
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
app.add_typer(campaign_app, name="campaign")
app.add_typer(signup_app, name="signup")
app.add_typer(participant_app, name="participant")

console = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=2)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    # httpx logs every request URL, and Telegram's URLs carry the bot token.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiosqlite", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise fail(str(error)) from None


async def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    from bot.runtime import configure_encryption

    configure_encryption(settings)
    database = Database(settings.resolved_database_url)
    try:
        if upgrade:
            await migrate.upgrade(database)
    except Exception as error:
        await database.dispose()
        if not unreachable(error):
            raise
        # One clear line naming the setting, not a driver's traceback (no password shown).
        where = database.url.render_as_string(hide_password=True)
        reason = (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]
        raise SettingsError(
            f"STEGVIS_DATABASE_URL: cannot reach the database at {where}: "
            f"{reason or type(error).__name__}"
        ) from None
    return database


def run_async(work: Callable[[Settings], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def main() -> T:
        return await work(settings)

    try:
        return asyncio.run(main())
    except SettingsError as error:
        raise fail(str(error)) from None
    except domain.DomainError as error:
        raise fail(str(error)) from None


async def _with_uow(settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    database = await open_database(settings)
    try:
        async with UnitOfWork(database) as uow:
            result = await work(uow)
            await uow.commit()
            return result
    finally:
        await database.dispose()


# Running


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


@app.command()
def run(
    webhook: Annotated[
        str | None,
        typer.Option(help="Public HTTPS URL that Telegram posts updates to (instead of polling)."),
    ] = None,
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT this worker serves the webhook on.")
    ] = None,
) -> None:
    """Start the bot. With no STEGVIS_BOT_TOKEN, start the local sandbox instead."""
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    if settings.sandbox:
        console.print("No STEGVIS_BOT_TOKEN is set: starting the local sandbox.")
        _run_sandbox(settings)
        return

    async def main() -> None:
        from bot.jobs import default_jobs
        from bot.runtime import BotRuntime

        database = await open_database(settings)
        # Webhook workers run several to a bot; the dashboard then runs on its own.
        with_dashboard = settings.web_with_bot and webhook is None
        if with_dashboard:
            from bot.web.server import web_secret

            try:
                web_secret(settings)  # a missing secret stops the start before the bot runs
            except SettingsError:
                await database.dispose()
                raise
        assert settings.bot_token is not None
        token = settings.bot_token.get_secret_value()
        runtime = BotRuntime(settings, database, token=token, jobs=default_jobs())
        await runtime.start(polling=webhook is None)
        try:
            if with_dashboard:
                async with _dashboard(settings, database, runtime.deps.bot_username) as address:
                    console.print(f"Staff dashboard: {address}/")
                    await _serve_updates(runtime, settings, token, webhook, listen)
            else:
                await _serve_updates(runtime, settings, token, webhook, listen)
        finally:
            await runtime.stop()
            await database.dispose()

    try:
        asyncio.run(main())
    except SettingsError as error:
        raise fail(str(error)) from None


async def _serve_updates(
    runtime: BotRuntime, settings: Settings, token: str, webhook: str | None, listen: str | None
) -> None:
    if webhook is None:
        console.print(f"Stegvis runs as @{runtime.deps.bot_username}. Stop with Ctrl+C.")
        await wait_for_signal()
    else:
        await _serve_webhook(runtime, settings, token, webhook, listen)


async def _serve_webhook(
    runtime: BotRuntime, settings: Settings, token: str, url: str, listen: str | None
) -> None:
    from urllib.parse import urlparse

    from telegram import Update

    from bot.asgi import serve_asgi
    from bot.webhook import build_webhook_app, webhook_secret

    host, _, port = (listen or settings.webhook_listen).rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError("--listen: give HOST:PORT, e.g. 127.0.0.1:8443")
    secret = webhook_secret(settings, token)
    path = urlparse(url).path or "/"
    app = build_webhook_app(runtime, secret, path)
    async with serve_asgi(app, host, int(port)) as server:
        await runtime.bot.set_webhook(
            url, secret_token=secret, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )
        console.print(
            f"Stegvis serves @{runtime.deps.bot_username} by webhook {url} on "
            f"{server.base_url}{path}. Stop with Ctrl+C."
        )
        await wait_for_signal()


@app.command()
def sandbox(
    port: Annotated[int | None, typer.Option(help="Port of the chat page and emulator.")] = None,
) -> None:
    """Start the Bot API emulator, the bot and a web chat page, seeded with demo data."""
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    if port is not None:
        settings = settings.model_copy(update={"sandbox_port": port})
    _run_sandbox(settings)


def _dashboard(
    settings: Settings, database: Database, bot_username: str
) -> AbstractAsyncContextManager[str]:
    from bot.web.app import create_app
    from bot.web.server import serving, web_secret

    app_ = create_app(settings, database, secret=web_secret(settings), bot_username=bot_username)
    return serving(app_, settings.web_host, settings.web_port)


@app.command()
def web(
    port: Annotated[int | None, typer.Option(help="Port of the dashboard.")] = None,
) -> None:
    """Serve the staff dashboard on its own (STEGVIS_WEB_HOST, STEGVIS_WEB_PORT)."""
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    if port is not None:
        settings = settings.model_copy(update={"web_port": port})

    async def main() -> None:
        from telegram.error import TelegramError

        from bot.web.server import web_secret

        web_secret(settings)
        try:
            username = await _bot_username(settings)
        except TelegramError:
            raise SettingsError(
                "STEGVIS_BOT_USERNAME: Telegram could not be asked for the bot's name "
                "(used in invitation links); set it"
            ) from None
        database = await open_database(settings)
        try:
            async with _dashboard(settings, database, username) as address:
                console.print(f"Staff dashboard: {address}/  Stop with Ctrl+C.")
                await wait_for_signal()
        finally:
            await database.dispose()

    try:
        asyncio.run(main())
    except SettingsError as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"the dashboard cannot listen on its port: {error}") from None


def _run_sandbox(settings: Settings) -> None:
    from bot.sandbox.launcher import run_sandbox

    try:
        asyncio.run(run_sandbox(settings, ready=lambda text: console.print(text)))
    except SettingsError as error:
        raise fail(str(error)) from None


# Database


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema up to date (also done by `stegvis run`)."""

    async def work(settings: Settings) -> set[str]:
        database = await open_database(settings)
        try:
            return await migrate.current_revisions(database)
        finally:
            await database.dispose()

    revisions = run_async(work)
    console.print(f"Database is at {', '.join(sorted(revisions))}.")


@db_app.command("revision")
def db_revision(
    message: str,
    rev_id: Annotated[str, typer.Option(help="The number of the new migration, e.g. 0002.")],
) -> None:
    """For developers: write a migration for what the models add (read it before use)."""
    import tempfile

    from bot.runtime import configure_encryption

    configure_encryption(load_settings(data_dir=Path(tempfile.mkdtemp())))
    asyncio.run(migrate.autogenerate(message, rev_id, Path(tempfile.mkdtemp()) / "scratch.db"))
    console.print("Migration written to storage/migrations/versions/.")


# Cohorts


@cohort_app.command("add")
def cohort_add(name: str) -> None:
    """Create a cohort."""

    async def work(settings: Settings) -> str:
        async def create(uow: UnitOfWork) -> str:
            cohort = await domain.create_cohort(uow, name, SystemClock().now())
            return cohort.name

        return await _with_uow(settings, create)

    console.print(f"Cohort {run_async(work)!r} created.")


@cohort_app.command("list")
def cohort_list() -> None:
    """List cohorts."""

    async def work(settings: Settings) -> list[tuple[int, str]]:
        async def read(uow: UnitOfWork) -> list[tuple[int, str]]:
            return [(cohort.id, cohort.name) for cohort in await uow.cohorts.all()]

        return await _with_uow(settings, read)

    table = Table("id", "name")
    for cohort_id, name in run_async(work):
        table.add_row(str(cohort_id), name)
    console.print(table)


# Mentors


@mentor_app.command("add")
def mentor_add(
    name: Annotated[str, typer.Option(help="The mentor's name, as participants see it.")],
    languages: Annotated[
        str, typer.Option(help="Languages, e.g. sv,ar; the first is theirs.")
    ] = "sv",
    telegram_id: Annotated[int | None, typer.Option(help="Their Telegram user id.")] = None,
    coordinator: Annotated[
        bool, typer.Option(help="Project staff: also gets widened cases.")
    ] = False,
    caseload_limit: Annotated[
        int | None, typer.Option(help="At most this many participants.")
    ] = None,
) -> None:
    """Add a mentor. Without --telegram-id, prints an invite that links their account."""
    codes = [code.strip() for code in languages.split(",") if code.strip()]

    async def work(settings: Settings) -> tuple[int, str | None, str]:
        async def create(uow: UnitOfWork) -> tuple[int, str | None, str]:
            now = SystemClock().now()
            mentor = await domain.create_mentor(
                uow,
                name=name,
                languages=codes,
                now=now,
                telegram_user_id=telegram_id,
                is_coordinator=coordinator,
                caseload_limit=caseload_limit,
            )
            code = None
            if telegram_id is None:
                invite = await domain.create_invite(
                    uow,
                    now=now,
                    randomness=SystemRandomness(),
                    valid_for=timedelta(days=settings.invite_valid_days),
                    mentor_id=mentor.id,
                    kind=InviteKind.MENTOR,
                )
                code = invite.code
            return mentor.id, code, await _bot_username(settings)

        return await _with_uow(settings, create)

    mentor_id, code, username = run_async(work)
    console.print(f"Mentor {name!r} added with id {mentor_id}.")
    if code:
        console.print(f"Their own invite: {code}  {domain.invite_link(username, code)}")


@mentor_app.command("list")
def mentor_list() -> None:
    """List mentors."""

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            return [
                (
                    str(mentor.id),
                    mentor.name,
                    mentor.languages,
                    "yes" if mentor.telegram_user_id else "no",
                    "coordinator" if mentor.is_coordinator else "mentor",
                )
                for mentor in await uow.mentors.all()
            ]

        return await _with_uow(settings, read)

    table = Table("id", "name", "languages", "on Telegram", "role")
    for row in run_async(work):
        table.add_row(*row)
    console.print(table)


@mentor_app.command("limit")
def mentor_limit(
    mentor_id: int,
    limit: Annotated[
        int | None, typer.Argument(help="At most this many participants; leave out for no limit.")
    ] = None,
) -> None:
    """Set how many participants (active and in follow-up) a mentor takes at most."""

    async def work(settings: Settings) -> tuple[str, int]:
        async def change(uow: UnitOfWork) -> tuple[str, int]:
            from storage.journey import Lifecycle

            mentor = await uow.mentors.get(mentor_id)
            if mentor is None:
                raise domain.DomainError(f"no mentor with id {mentor_id}")
            if limit is not None and limit < 0:
                raise domain.DomainError("a limit is 0 or more")
            mentor.caseload_limit = limit
            caseload = (await uow.repository(Lifecycle).caseloads()).get(mentor.id, 0)
            return mentor.name, caseload

        return await _with_uow(settings, change)

    name, caseload = run_async(work)
    console.print(
        f"{name} takes {'any number of' if limit is None else f'at most {limit}'} "
        f"participants; has {caseload} now."
    )


# Invites


async def _bot_username(settings: Settings) -> str:
    if settings.bot_username:
        return settings.bot_username
    if settings.sandbox or settings.bot_token is None:
        return "stegvis_bot"
    from telegram import Bot

    bot = Bot(settings.bot_token.get_secret_value(), base_url=settings.telegram_base_url)
    async with bot:
        return bot.username


@invite_app.command("create")
def invite_create(
    cohort: Annotated[str, typer.Option(help="The cohort the participant joins.")],
    mentor: Annotated[int | None, typer.Option(help="Id of the participant's mentor.")] = None,
    qr: Annotated[Path | None, typer.Option(help="Where to write the QR code PNG.")] = None,
    days: Annotated[int | None, typer.Option(help="Days the invite stays valid.")] = None,
) -> None:
    """Create a one-time invite: prints the code and link and writes a QR code PNG."""

    async def work(settings: Settings) -> tuple[str, str, Path]:
        async def create(uow: UnitOfWork) -> tuple[str, str, Path]:
            invite = await domain.create_invite(
                uow,
                now=SystemClock().now(),
                randomness=SystemRandomness(),
                valid_for=timedelta(days=days or settings.invite_valid_days),
                cohort_name=cohort,
                mentor_id=mentor,
            )
            link = domain.invite_link(await _bot_username(settings), invite.code)
            path = qr or settings.data_dir / "invites" / f"{invite.code}.png"
            write_qr(link, path)
            return invite.code, link, path

        return await _with_uow(settings, create)

    code, link, path = run_async(work)
    console.print(f"Code: {code}")
    console.print(f"Link: {link}")
    console.print(f"QR code: {path}")


def write_qr(link: str, path: Path) -> None:
    import segno

    path.parent.mkdir(parents=True, exist_ok=True)
    segno.make(link, error="m").save(str(path), scale=10, border=4)


@invite_app.command("list")
def invite_list() -> None:
    """List invites and whether they are used, expired or revoked."""

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            now = SystemClock().now()
            rows: list[tuple[str, ...]] = []
            for invite in await uow.invites.all():
                state = (
                    "revoked"
                    if invite.revoked_at
                    else "used"
                    if invite.used_at
                    else "expired"
                    if invite.expires_at <= now
                    else "open"
                )
                rows.append((invite.code, str(invite.kind), str(invite.cohort_id or "–"), state))
            return rows

        return await _with_uow(settings, read)

    table = Table("code", "kind", "cohort", "state")
    for row in run_async(work):
        table.add_row(*row)
    console.print(table)


@invite_app.command("revoke")
def invite_revoke(code: str) -> None:
    """Revoke an invite so nobody can join with it."""

    async def work(settings: Settings) -> None:
        async def revoke(uow: UnitOfWork) -> None:
            invite = await uow.invites.by_code(domain.normalize_code(code))
            if invite is None:
                raise domain.DomainError(f"no invite with code {code!r}")
            invite.revoked_at = SystemClock().now()

        await _with_uow(settings, revoke)

    run_async(work)
    console.print(f"Invite {code} revoked.")


# Triage


@app.command("triage")
def triage_command() -> None:
    """Read one message per line on standard input; print one JSON object per line:
    {"category": ..., "urgent": ..., "terms": [...]}."""
    from bot.triage import run_triage_cli

    for stream in (sys.stdin, sys.stdout):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")
    raise typer.Exit(code=run_triage_cli(sys.stdin, sys.stdout))


# Staff accounts


def read_new_password() -> str:
    """Asked twice at a terminal; one line from standard input for scripts."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@staff_app.command("add")
def staff_add(
    username: str,
    role: Annotated[str, typer.Option(help="staff (the whole project) or mentor.")] = "staff",
    mentor_id: Annotated[
        int | None, typer.Option(help="For a mentor: their id in `stegvis mentor list`.")
    ] = None,
    language: Annotated[str, typer.Option(help="Interface language: sv or en.")] = "sv",
) -> None:
    """Create a dashboard account. The password is asked twice (or read from stdin)."""
    from bot.domain import staff

    if role not in {r.value for r in StaffRole}:
        raise fail("--role is staff or mentor")
    password = read_new_password()

    async def work(settings: Settings) -> str:
        async def create(uow: UnitOfWork) -> str:
            account = await staff.create_account(
                uow,
                username=username,
                password=password,
                role=StaffRole(role),
                mentor_id=mentor_id,
                language=language,
                now=SystemClock().now(),
            )
            return account.username

        return await _with_uow(settings, create)

    console.print(f"Account {run_async(work)!r} created ({role}).")


@staff_app.command("list")
def staff_list() -> None:
    """List dashboard accounts."""
    from bot.domain import staff

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            now = SystemClock().now()
            return [
                (
                    account.username,
                    str(account.role),
                    str(account.mentor_id or "–"),
                    account.language,
                    "disabled"
                    if account.disabled_at
                    else "locked"
                    if account.locked_until and account.locked_until > now
                    else "active",
                )
                for account in await staff.accounts(uow).all()
            ]

        return await _with_uow(settings, read)

    table = Table("username", "role", "mentor", "language", "state")
    for row in run_async(work):
        table.add_row(*row)
    console.print(table)


@staff_app.command("password")
def staff_password(username: str) -> None:
    """Set a new password; signs the account out everywhere and lifts a lock-out."""
    from bot.domain import staff

    password = read_new_password()

    async def work(settings: Settings) -> None:
        async def change(uow: UnitOfWork) -> None:
            await staff.set_password(uow, username, password, SystemClock().now())

        await _with_uow(settings, change)

    run_async(work)
    console.print(f"Password of {username!r} changed.")


@staff_app.command("unlock")
def staff_unlock(username: str) -> None:
    """Lift a lock-out after failed sign-ins before it runs out by itself."""
    from bot.domain import staff

    async def work(settings: Settings) -> None:
        async def change(uow: UnitOfWork) -> None:
            await staff.unlock(uow, username)

        await _with_uow(settings, change)

    run_async(work)
    console.print(f"{username!r} unlocked.")


@staff_app.command("disable")
def staff_disable(
    username: str,
    enable: Annotated[bool, typer.Option("--enable", help="Turn the account on again.")] = False,
) -> None:
    """Turn an account off (someone left the project): its sessions end at once."""
    from bot.domain import staff

    async def work(settings: Settings) -> None:
        async def change(uow: UnitOfWork) -> None:
            await staff.set_disabled(uow, username, not enable, SystemClock().now())

        await _with_uow(settings, change)

    run_async(work)
    console.print(f"{username!r} {'enabled' if enable else 'disabled'}.")


# Open sign-up, participants' journeys and the ESF report


def _staff_name(by: str | None) -> str:
    """Who acts at the command line: --by, else the login name (kept with the change)."""
    import getpass

    return (by or getpass.getuser() or "staff").strip()[:120]


@signup_app.command("list")
def signup_list() -> None:
    """Applications waiting for an answer: urgent first, then the oldest."""
    from bot.domain import signup

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            areas = signup.load_areas(settings.signup_areas_file)
            rows: list[tuple[str, ...]] = []
            for item in await signup.pending(uow, limit=1000):
                application, participant = item.application, item.participant
                place = (
                    application.area_other
                    if application.area == signup.OTHER_AREA
                    else signup.area_name(areas, application.area, "sv")
                )
                rows.append(
                    (
                        participant.public_id,
                        "yes" if application.urgent else "",
                        application.submitted_at.astimezone(settings.zone).strftime(
                            "%Y-%m-%d %H:%M"
                        ),
                        participant.locale,
                        place or "",
                        ", ".join(application.topics),
                        participant.gender or "",
                    )
                )
            return rows

        return await _with_uow(settings, read)

    rows = run_async(work)
    if not rows:
        console.print("No applications are waiting.")
        return
    table = Table("id", "urgent", "sent", "language", "lives in", "wants help with", "gender")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@signup_app.command("approve")
def signup_approve(
    public_id: str,
    cohort: Annotated[
        str | None, typer.Option(help="The cohort; needed when there are several.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who approves (default: your login).")] = None,
) -> None:
    """Approve an application: a cohort, and a mentor who writes their language and has room."""
    from bot.domain import signup
    from bot.domain.lifecycle import ChangedBy, Rhythm
    from bot.i18n import translator
    from bot.messaging import Notifier

    async def work(settings: Settings) -> tuple[str, str]:
        async def approve(uow: UnitOfWork) -> tuple[str, str]:
            clock = SystemClock()
            application = await signup.application_of(uow, public_id)
            cohort_id = None
            if cohort is not None:
                found = await uow.cohorts.by_name(cohort)
                if found is None:
                    raise domain.DomainError(f"no cohort named {cohort!r}")
                cohort_id = found.id
            approved = await signup.approve(
                uow,
                application.id,
                cohort_id=cohort_id,
                by=ChangedBy.staff(_staff_name(by)),
                now=clock.now(),
                rhythm=Rhythm.from_settings(settings),
            )
            await signup.tell_approved(
                Notifier(uow, clock),
                lambda locale: translator(locale, settings.timezone),
                approved,
                areas=signup.load_areas(settings.signup_areas_file),
                default_locale=settings.default_locale,
            )
            return approved.cohort.name, approved.mentor.name

        return await _with_uow(settings, approve)

    cohort_name, mentor_name = run_async(work)
    console.print(
        f"{public_id.upper()} is in {cohort_name!r} with {mentor_name}; "
        "the welcome goes out with the bot."
    )


@signup_app.command("decline")
def signup_decline(
    public_id: str,
    by: Annotated[str | None, typer.Option(help="Who declines (default: your login).")] = None,
) -> None:
    """Decline an application: a kind message with where else to turn; the name is erased."""
    from bot.domain import signup
    from bot.domain.lifecycle import ChangedBy
    from bot.i18n import translator
    from bot.messaging import Notifier

    async def work(settings: Settings) -> None:
        async def decline(uow: UnitOfWork) -> None:
            clock = SystemClock()
            application = await signup.application_of(uow, public_id)
            declined = await signup.decline(
                uow, application.id, by=ChangedBy.staff(_staff_name(by)), now=clock.now()
            )
            await signup.tell_declined(
                Notifier(uow, clock),
                lambda locale: translator(locale, settings.timezone),
                declined,
                places=signup.load_elsewhere(settings.signup_elsewhere_file),
            )

        await _with_uow(settings, decline)

    run_async(work)
    console.print(f"{public_id.upper()} declined; the message goes out with the bot.")


@participant_app.command("history")
def participant_history(public_id: str) -> None:
    """Every status change of a participant: from, to, why, by whom, when."""
    from bot.domain import lifecycle

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            participant = await uow.participants.by_public_id(public_id)
            if participant is None:
                raise domain.DomainError(f"no participant {public_id!r}")
            mentors = {mentor.id: mentor.name for mentor in await uow.mentors.all()}
            return [
                (
                    event.occurred_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M"),
                    str(event.from_status or "–"),
                    str(event.to_status),
                    event.reason or "",
                    mentors.get(event.mentor_id or 0) or event.actor_name or str(event.actor),
                )
                for event in await lifecycle.history(uow, participant.id)
            ]

        return await _with_uow(settings, read)

    table = Table("when", "from", "to", "reason", "by")
    for row in run_async(work):
        table.add_row(*row)
    console.print(table)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:g} %"


@app.command()
def report(
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the start).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[
        str, typer.Option("--format", help="table (for reading) or csv (for a spreadsheet).")
    ] = "table",
) -> None:
    """The ESF figures per cohort and by gender, next to the project's goals."""
    from datetime import date

    from bot.domain import report as figures

    if output not in ("table", "csv"):
        raise fail("--format: use table or csv")
    try:
        period = figures.Period(
            date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None
        )
    except ValueError as error:
        raise fail(f"--from/--to: {error}") from None
    except domain.DomainError as error:
        raise fail(str(error)) from None

    async def work(settings: Settings) -> figures.Report:
        async def read(uow: UnitOfWork) -> figures.Report:
            return await figures.build(
                uow,
                period,
                zone=settings.zone,
                now=SystemClock().now(),
                goal_work_or_studies=settings.goal_work_studies_percent,
                goal_step=settings.goal_step_percent,
            )

        return await _with_uow(settings, read)

    result = run_async(work)
    if output == "csv":
        print_report_csv(result)
    else:
        print_report_table(result)


REPORT_GENDERS = {"woman": "women", "man": "men", "other": "other", "not_stated": "not stated"}


def print_report_table(result: Report) -> None:
    from bot.domain import report as figures

    period = result.period
    title = f"ESF figures {period.start or 'from the start'} – {period.end or 'today'}"
    table = Table(
        "cohort",
        "gender",
        "participants",
        "≥1 step",
        "left",
        "for work or studies",
        "still at 3 months",
        "still at 6 months",
        title=title,
    )
    for row in result.rows:
        f = row.figures
        table.add_row(
            "all cohorts" if row.cohort == figures.ALL else row.cohort,
            "all" if row.gender == figures.ALL else REPORT_GENDERS[row.gender],
            str(f.participants),
            f"{f.with_step} ({_percent(f.step_share)})",
            str(f.left),
            f"{f.left_for_work_or_studies} ({_percent(f.work_or_studies_share)})",
            f"{f.still_3} of {f.answered_3} ({_percent(f.still_3_share)})",
            f"{f.still_6} of {f.answered_6} ({_percent(f.still_6_share)})",
            end_section=row.gender == figures.ALL,
        )
    console.print(table)
    totals = result.totals
    console.print(
        f"Goal: {result.goal_step} % make at least one step; now {_percent(totals.step_share)}."
    )
    console.print(
        f"Goal: {result.goal_work_or_studies} % of those who leave go to work or studies; "
        f"now {_percent(totals.work_or_studies_share)}."
    )


def print_report_csv(result: Report) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(
        [
            "cohort",
            "gender",
            "participants",
            "with_step",
            "with_step_percent",
            "left",
            "left_for_work_or_studies",
            "left_for_work_or_studies_percent",
            "answered_3_months",
            "still_3_months",
            "still_3_months_percent",
            "answered_6_months",
            "still_6_months",
            "still_6_months_percent",
            "goal_step_percent",
            "goal_work_or_studies_percent",
        ]
    )
    for row in result.rows:
        f = row.figures
        writer.writerow(
            [
                row.cohort,
                row.gender,
                f.participants,
                f.with_step,
                "" if f.step_share is None else f.step_share,
                f.left,
                f.left_for_work_or_studies,
                "" if f.work_or_studies_share is None else f.work_or_studies_share,
                f.answered_3,
                f.still_3,
                "" if f.still_3_share is None else f.still_3_share,
                f.answered_6,
                f.still_6,
                "" if f.still_6_share is None else f.still_6_share,
                result.goal_step,
                result.goal_work_or_studies,
            ]
        )


# Catalogs and keys


@i18n_app.command("update")
def i18n_update() -> None:
    """Extract messages, merge them into every catalog and compile."""
    from bot import catalogs

    catalogs.update()
    console.print("Catalogs updated and compiled.")


@i18n_app.command("apply")
def i18n_apply(
    locale: str,
    translations: Path,
    catalog: Annotated[
        str | None,
        typer.Option(help="messages or dashboard: set (and change) this catalog only"),
    ] = None,
) -> None:
    """Fill LOCALE's catalogs from a JSON file {msgid: text or [plural forms]} and compile.

    Without --catalog only missing translations are filled, in every catalog; to change an
    existing one, name its catalog.
    """
    import json

    from bot import catalogs

    names = [domain.name for domain in catalogs.DOMAINS]
    if catalog is not None and catalog not in names:
        raise typer.BadParameter(f"--catalog must be one of: {', '.join(names)}")
    missing = catalogs.apply_translations(
        locale, json.loads(translations.read_text("utf-8")), catalog
    )
    for msgid in missing:
        console.print(f"untranslated: {msgid!r}", highlight=False)
    console.print(f"{locale}: {len(missing)} untranslated.")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random encryption key for STEGVIS_ENCRYPTION_KEY."""
    from storage.crypto import generate_key

    print(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-seal all stored free text under STEGVIS_ENCRYPTION_KEY (the bot may keep running).

    Configure the new key as STEGVIS_ENCRYPTION_KEY and the old one in
    STEGVIS_ENCRYPTION_OLD_KEYS first; remove the old key once this reports nothing left.
    """
    from storage import rotation

    async def work(settings: Settings) -> tuple[dict[str, int], int]:
        from bot.runtime import configure_encryption

        keyring = configure_encryption(settings)
        database = await open_database(settings)
        try:
            counts = await rotation.rotate(database, keyring)
            return counts, await rotation.remaining(database, keyring)
        finally:
            await database.dispose()

    counts, left = run_async(work)
    table = Table("column", "re-sealed")
    for column, count in counts.items():
        table.add_row(column, str(count))
    console.print(table)
    console.print(f"{left} values are still sealed by another key.")


# Campaigns


@campaign_app.command("create")
def campaign_create(
    name: str,
    cohort: Annotated[list[str], typer.Option(help="A cohort it goes to; repeat for more.")],
    sv: Annotated[str | None, typer.Option(help="The text in Swedish.")] = None,
    ar: Annotated[str | None, typer.Option(help="The text in Arabic.")] = None,
    en: Annotated[str | None, typer.Option(help="The text in English.")] = None,
    fallback: Annotated[
        str | None, typer.Option(help="Language whose text goes to those without one.")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only participants with this language.")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Only participants with this status (active, ...).")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Send once, at this local time: '2026-12-03 09:00'.")
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Send again and again: 'monday 09:00', 'day 08:30'.")
    ] = None,
    quiet: Annotated[
        str, typer.Option(help="Local hours when nothing is sent; 'off' for none.")
    ] = "21:00-08:00",
) -> None:
    """Schedule a message to one or more cohorts, in each participant's language."""
    from bot.domain import campaigns

    async def work(settings: Settings) -> tuple[str, str]:
        async def create(uow: UnitOfWork) -> tuple[str, str]:
            now = SystemClock().now()
            zone = settings.zone
            spec = campaigns.parse_schedule(at=at, every=every, zone=zone, now=now)
            campaign = await campaigns.create_campaign(
                uow,
                name=name,
                cohorts=cohort,
                texts={code: text for code, text in (("sv", sv), ("ar", ar), ("en", en)) if text},
                schedule=spec,
                now=now,
                zone=zone,
                fallback=fallback,
                languages=language,
                statuses=status,
                quiet=campaigns.parse_quiet_hours(quiet),
            )
            first = campaign.next_run_at
            return campaign.name, _local(first, settings)

        return await _with_uow(settings, create)

    created, first = run_async(work)
    console.print(f"Campaign {created!r} scheduled; first send {first}.")
    console.print(f"See who gets what with: stegvis campaign preview {created!r}")


@campaign_app.command("preview")
def campaign_preview(name: str) -> None:
    """Show the text as each language group will see it, and how many will get it."""
    from rich.panel import Panel

    from bot.domain import campaigns
    from bot.i18n import LANGUAGE_NAMES

    async def work(settings: Settings) -> tuple[campaigns.Preview, str]:
        async def read(uow: UnitOfWork) -> tuple[campaigns.Preview, str]:
            campaign = await campaigns.find_campaign(uow, name)
            shown = await campaigns.preview(uow, campaign, settings.zone)
            return shown, _local(shown.next_send, settings)

        return await _with_uow(settings, read)

    shown, next_send = run_async(work)
    for group in shown.groups:
        title = f"{LANGUAGE_NAMES.get(group.locale, group.locale)} ({group.locale})"
        if group.text_locale != group.locale:
            title += f", gets the {LANGUAGE_NAMES[group.text_locale]} text"
        title += f" · {group.recipients} recipient{'s' if group.recipients != 1 else ''}"
        console.print(Panel(group.text, title=title, title_align="left"), highlight=False)
    console.print(
        f"{shown.recipients} will get it; {shown.paused} have paused reminders and "
        f"{shown.unreachable} have blocked the bot (they get nothing). Next send: {next_send}.",
        highlight=False,
    )


@campaign_app.command("list")
def campaign_list() -> None:
    """Each campaign's state, schedule and delivery counts."""
    from bot.domain import campaigns

    async def work(settings: Settings) -> list[tuple[str, ...]]:
        async def read(uow: UnitOfWork) -> list[tuple[str, ...]]:
            from storage.reminders import Campaigns

            every = list(await uow.repository(Campaigns).all())
            counted = await campaigns.counts(uow, every)
            rows = []
            for campaign in every:
                c = counted[campaign.id]
                rows.append(
                    (
                        str(campaign.id),
                        campaign.name,
                        str(campaign.state),
                        campaigns.describe_schedule(campaign.schedule, settings.zone),
                        _local(campaign.next_run_at, settings),
                        *(str(n) for n in (c.pending, c.held, c.sent, c.failed)),
                        *(str(n) for n in (c.unreachable, c.skipped)),
                    )
                )
            return rows

        return await _with_uow(settings, read)

    table = Table(
        "id", "name", "state", "schedule", "next send", "pending", "held", "sent", "failed"
    )
    table.add_column("unreachable")
    table.add_column("skipped")
    for row in run_async(work):
        table.add_row(*row)
    console.print(table)


def _campaign_action(name: str, action: str) -> int:
    from bot.domain import campaigns

    async def work(settings: Settings) -> int:
        async def act(uow: UnitOfWork) -> int:
            campaign = await campaigns.find_campaign(uow, name)
            now = SystemClock().now()
            if action == "pause":
                return await campaigns.pause(uow, campaign, now)
            if action == "resume":
                return await campaigns.resume(uow, campaign, now, settings.zone)
            return await campaigns.cancel(uow, campaign, now)

        return await _with_uow(settings, act)

    return run_async(work)


@campaign_app.command("pause")
def campaign_pause(name: str) -> None:
    """Stop sending at once, also in the middle of a send; `resume` goes on."""
    held = _campaign_action(name, "pause")
    console.print(f"Campaign {name!r} paused; {held} messages held.")


@campaign_app.command("resume")
def campaign_resume(name: str) -> None:
    """Go on with a paused campaign (quiet hours still apply)."""
    released = _campaign_action(name, "resume")
    console.print(f"Campaign {name!r} resumed; {released} messages released.")


@campaign_app.command("cancel")
def campaign_cancel(name: str) -> None:
    """Send nothing more of it, now or later."""
    withdrawn = _campaign_action(name, "cancel")
    console.print(f"Campaign {name!r} cancelled; {withdrawn} messages withdrawn.")


def _local(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "–"
    return moment.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")


# The dispatcher on its own


@app.command()
def dispatch(
    until_empty: Annotated[
        bool, typer.Option(help="Stop when nothing is left to send (for batch runs).")
    ] = False,
) -> None:
    """Only send what the outbox holds (no polling, no jobs): a process of its own."""
    settings = settings_or_exit()
    setup_logging(settings.log_level)

    async def main() -> None:
        from bot.runtime import SANDBOX_TOKEN
        from bot.telegram_http import sending_bot

        if settings.sandbox and settings.telegram_base_url.startswith("https://api.telegram.org"):
            raise SettingsError("STEGVIS_BOT_TOKEN: required to send through Telegram")
        token = settings.bot_token.get_secret_value() if settings.bot_token else SANDBOX_TOKEN
        database = await open_database(settings)
        policy = DispatchPolicy.from_settings(settings)
        bot = sending_bot(token, settings, policy.concurrency + 8)
        dispatcher = Dispatcher(
            database, bot, SystemClock(), policy, SystemRandomness(), settings.zone
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await bot.initialize()
        watcher = asyncio.create_task(_stop_when_empty(database, stop)) if until_empty else None
        try:
            await dispatcher.run_forever(stop, interval=0.5)
        finally:
            if watcher is not None:
                watcher.cancel()
            await bot.shutdown()
            await database.dispose()
        stats = dispatcher.stats
        elapsed = (stats.last_sent or 0.0) - (stats.first_sent or 0.0)
        rate = stats.sent / elapsed if elapsed > 0 else 0.0
        console.print(
            f"sent={stats.sent} retried={stats.retried} dead={stats.dead} "
            f"unreachable={stats.unreachable} held_back={stats.held_back} "
            f"retry_after={stats.retry_after} seconds={elapsed:.3f} rate={rate:.1f}",
            highlight=False,
        )

    try:
        asyncio.run(main())
    except SettingsError as error:
        raise fail(str(error)) from None


async def _stop_when_empty(database: Database, stop: asyncio.Event) -> None:
    from sqlalchemy import func, select

    from storage.models import OutboxMessage, OutboxStatus

    waiting = [OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENDING]
    while not stop.is_set():
        await asyncio.sleep(0.5)
        async with database.session() as session:
            left = await session.scalar(
                select(func.count()).where(OutboxMessage.status.in_(waiting))
            )
        if not left:
            stop.set()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
