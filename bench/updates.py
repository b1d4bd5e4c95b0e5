"""Updates a second: Stegvis against a bare python-telegram-bot bot on the same emulator.

    python -m bench updates [--participants 200] [--profile] [--database-url URL]

The Bot API emulator and the simulated users run in this process; each bot runs in a
process of its own, polling the emulator over loopback, so the two bots are measured the
same way and the ratio between them holds from one machine to another:

1. a bare python-telegram-bot `Application` (`bench/_echo.py`): every user sends a text
   and then presses the button on each reply, all users at once;
2. Stegvis as `stegvis run` starts it (inbox, handlers, outbox, dispatcher, jobs; SQLite,
   or a new database on the PostgreSQL server at --database-url), with every participant
   joined and a check-in open: all answer it at once (a face, one activity, Done, "No,
   thank you"), each waiting for the bot's answer before the next press.

Reported for each: updates handled a second (first action to the last answer the emulator
recorded), the latency of each update (the user's action to the answer the user waits for,
both timed inside the emulator) at p50/p90/p99, and the bot process's CPU time per update.
At the end every participant's answers are read back from the database, so a bot that
dropped or mangled an answer cannot post a good figure. --profile runs the Stegvis bot
under cProfile and prints where its time went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import math
import os
import pstats
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from bench.checkins import add_participants
from bench.outbox import drop_postgres, postgres_database
from bot.clock import ManualClock, SystemClock, SystemRandomness
from bot.config import load_settings
from bot.flows.checkin import CheckinJob
from bot.flows.registry import FlowRegistry
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.clientapi import user_presses, user_sends, user_text_content
from bot.sandbox.emulator import Emulator, run_emulator
from bot.sandbox.state import Chat, EmulatorState, StoredMessage
from bot.turn import Deps
from storage import migrate
from storage.crypto import Keyring, generate_key, install_keyring
from storage.db import Database
from storage.models import (
    Checkin,
    CheckinStatus,
    InboxUpdate,
    Participant,
    ParticipantSchedule,
    ScheduleKind,
)

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTICIPANT = 10_000_000  # telegram ids as `bench.checkins.add_participants` makes them
FIRST_BARE_USER = 20_000_000
BARE_ACTIONS = 4  # a text, then three presses: as many updates per user as a check-in
MOOD = 4  # "Good": not one of the low faces, which would page a mentor
ACTIVITY = "apply"
WAIT = 120.0  # seconds a user waits for an answer before the run counts as failed
TOP = 25


@dataclass
class Run:
    name: str
    users: int
    started: float = 0.0
    finished: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    check: str = "not checked"

    @property
    def updates(self) -> int:
        return len(self.latencies)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds / self.updates * 1000 if self.updates else 0.0


class Watcher:
    """Times the bot's answers inside the emulator: each user waits for one condition on
    their chat, checked whenever the emulator changes that chat, and its future gets the
    moment the condition first held."""

    def __init__(self, state: EmulatorState) -> None:
        self.waiting: dict[int, tuple[Callable[[Chat], bool], asyncio.Future[float]]] = {}
        original = state.touch

        def touch(chat: Chat) -> None:
            original(chat)
            entry = self.waiting.get(chat.id)
            if entry is not None and entry[0](chat):
                del self.waiting[chat.id]
                if not entry[1].done():
                    entry[1].set_result(time.perf_counter())

        state.touch = touch  # type: ignore[method-assign]

    def expect(self, chat_id: int, condition: Callable[[Chat], bool]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = (condition, future)
        return future


def bot_messages_after(chat: Chat, message_id: int) -> list[StoredMessage]:
    return [m for m in chat.messages.values() if m.from_bot and m.message_id > message_id]


def button_data(message: StoredMessage) -> list[str]:
    return [str(button.get("callback_data")) for row in message.inline_keyboard for button in row]


def new_message(after: int, prefix: str = "") -> Callable[[Chat], bool]:
    """A bot message after `after`, with a button whose data starts with `prefix` if given."""

    def holds(chat: Chat) -> bool:
        return any(
            not prefix or any(data.startswith(prefix) for data in button_data(message))
            for message in bot_messages_after(chat, after)
        )

    return holds


def found(chat: Chat, after: int, prefix: str) -> StoredMessage:
    return next(
        message
        for message in bot_messages_after(chat, after)
        if any(data.startswith(prefix) for data in button_data(message))
    )


async def act(
    watcher: Watcher,
    run: Run,
    chat_id: int,
    condition: Callable[[Chat], bool],
    action: Callable[[], object],
) -> None:
    """One user action and the wait for its answer; its latency goes into the run."""
    answered = watcher.expect(chat_id, condition)
    started = time.perf_counter()
    action()
    try:
        answer_at = await asyncio.wait_for(answered, WAIT)
    except TimeoutError:
        raise RuntimeError(f"chat {chat_id}: no answer within {WAIT:.0f} s") from None
    run.latencies.append(answer_at - started)
    run.finished = max(run.finished, time.perf_counter())


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Child:
    """A bot in a process of its own, its output in a log file."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.args = list(args)
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, cwd=ROOT, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def guard(self, work: Awaitable[None]) -> None:
        """Run `work`, failing at once (with the bot's log) if the bot process dies."""
        assert self.process is not None
        task = asyncio.ensure_future(work)
        died = asyncio.ensure_future(self.process.wait())
        done, _ = await asyncio.wait({task, died}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise RuntimeError(f"the bot process stopped:\n{self.tail()}")
        died.cancel()
        await task


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEGVIS_")}
    env.update(extra)
    return env


async def measure(
    child: Child, run: Run, users: Sequence[Callable[[], Awaitable[None]]], *, profile: bool
) -> None:
    """Every user at once; CPU time of the bot process over the whole run (and, with
    `profile`, the bot's profiler switched on for exactly that time)."""
    if profile:
        os.kill(child.pid, signal.SIGUSR1)
    cpu_before = cpu_seconds(child.pid)
    run.started = time.perf_counter()
    await child.guard(gather(users))
    run.cpu_seconds = cpu_seconds(child.pid) - cpu_before
    if profile:
        os.kill(child.pid, signal.SIGUSR2)


async def gather(users: Sequence[Callable[[], Awaitable[None]]]) -> None:
    await asyncio.gather(*(user() for user in users))


async def wait_for_state(
    child: Child, state: EmulatorState, condition: Callable[[], bool], what: str
) -> None:
    async def wait() -> None:
        if not await state.wait_for(condition, WAIT):
            raise RuntimeError(f"timed out waiting for {what}:\n{child.tail()}")

    await child.guard(wait())


# The bare bot


async def bare(emulator: Emulator, count: int, folder: Path) -> Run:
    state = emulator.state
    watcher = Watcher(state)
    run = Run("bare python-telegram-bot", count)
    ids = [FIRST_BARE_USER + number for number in range(count)]
    for user_id in ids:
        state.upsert_user(user_id=user_id, first_name="Echo", language_code="sv", started=True)

    def user(chat_id: int) -> Callable[[], Awaitable[None]]:
        async def actions() -> None:
            chat = state.chats[chat_id]
            last = chat.next_message_id - 1
            content = user_text_content(state, chat, {"text": "Hej!"})
            await act(
                watcher,
                run,
                chat_id,
                new_message(last, "echo:"),
                lambda: user_sends(state, chat_id, content),
            )
            for _ in range(BARE_ACTIONS - 1):
                reply = found(chat, last, "echo:")
                last = reply.message_id
                await act(
                    watcher,
                    run,
                    chat_id,
                    new_message(last, "echo:"),
                    functools.partial(
                        user_presses, state, chat_id, last, button_data(reply)[0], forge=False
                    ),
                )

        return actions

    child = Child(
        [sys.executable, "-m", "bench._echo", emulator.bot_api_url, SANDBOX_TOKEN],
        child_env({}),
        folder / "bare.log",
    )
    await child.start()
    try:
        # Ready when it answers: one user says hello before the others start.
        warm = FIRST_BARE_USER - 1
        state.upsert_user(user_id=warm, first_name="Warm", language_code="sv", started=True)
        user_sends(state, warm, user_text_content(state, state.chats[warm], {"text": "Hej!"}))
        await wait_for_state(
            child, state, lambda: bool(bot_messages_after(state.chats[warm], 0)), "the bare bot"
        )
        await measure(child, run, [user(chat_id) for chat_id in ids], profile=False)
    except Exception:
        print(child.tail(), file=sys.stderr)
        raise
    finally:
        await child.stop()
    # What the bare bot had not confirmed is not for Stegvis.
    state.confirm_updates(state.next_update_id)
    replies = sum(len(bot_messages_after(state.chats[chat_id], 0)) for chat_id in ids)
    if replies != count * BARE_ACTIONS:
        raise RuntimeError(f"the bare bot answered {replies} of {count * BARE_ACTIONS} updates")
    run.check = f"every one of {count * BARE_ACTIONS} updates answered"
    return run


# Stegvis


async def seed(database: Database, count: int) -> None:
    """`count` participants, joined, each with a check-in open since a minute ago."""
    now = SystemClock().now()
    await add_participants(database, count, now)
    settings = load_settings(data_dir=Path(tempfile.gettempdir()))
    clock = ManualClock(now)
    deps = Deps(
        settings=settings,
        database=database,
        clock=clock,
        randomness=SystemRandomness(),
        registry=FlowRegistry(),
    )
    job = CheckinJob()
    await job(deps)  # schedules: the next default check-in time for everyone
    async with database.session() as session, session.begin():
        await session.execute(
            update(ParticipantSchedule)
            .where(ParticipantSchedule.kind == ScheduleKind.CHECKIN)
            .values(next_due_at=now - timedelta(minutes=1))
        )
    while await job(deps):  # opens every check-in and queues its first question
        pass
    async with database.session() as session:
        opened = await session.scalar(select(func.count()).select_from(Checkin))
    if opened != count:
        raise RuntimeError(f"{opened} check-ins opened for {count} participants")


async def check_answers(database: Database, count: int) -> str:
    async with database.session() as session:
        checkins = (await session.scalars(select(Checkin))).all()
        inbox = await session.scalar(select(func.count()).select_from(InboxUpdate))
        participants = await session.scalar(select(func.count()).select_from(Participant))
    right = [
        checkin
        for checkin in checkins
        if checkin.status is CheckinStatus.ANSWERED
        and checkin.mood == MOOD
        and checkin.activities == [ACTIVITY]
        and checkin.wants_help is False
    ]
    if len(right) != count or participants != count or inbox:
        raise RuntimeError(
            f"{len(right)} of {count} check-ins stored as answered; inbox holds {inbox}"
        )
    return f"all {count} check-ins stored as answered (face, activity, no help); inbox empty"


async def stegvis(
    emulator: Emulator, count: int, url: str, key: str, folder: Path, profile: Path | None
) -> Run:
    state = emulator.state
    watcher = Watcher(state)
    run = Run("Stegvis", count)
    database = Database(url)
    try:
        await migrate.upgrade(database)
        await seed(database, count)
    finally:
        await database.dispose()
    ids = [FIRST_PARTICIPANT + number for number in range(count)]
    for number, user_id in enumerate(ids):
        state.upsert_user(
            user_id=user_id,
            first_name=f"Deltagare {number}",
            language_code=("sv", "ar", "en")[number % 3],
            started=True,
        )

    def user(chat_id: int) -> Callable[[], Awaitable[None]]:
        async def actions() -> None:
            chat = state.chats[chat_id]
            question = found(chat, 0, "ci:mood:")
            mood = next(d for d in button_data(question) if d.endswith(f":{MOOD}"))
            await act(
                watcher,
                run,
                chat_id,
                new_message(question.message_id, "ci:act:"),
                lambda: user_presses(state, chat_id, question.message_id, mood, forge=False),
            )
            activities = found(chat, question.message_id, "ci:act:")
            tick = next(d for d in button_data(activities) if d.endswith(f":{ACTIVITY}"))
            edits = activities.edit_count
            await act(
                watcher,
                run,
                chat_id,
                lambda _chat: activities.edit_count > edits,
                lambda: user_presses(state, chat_id, activities.message_id, tick, forge=False),
            )
            done = next(d for d in button_data(activities) if d.startswith("ci:done:"))
            await act(
                watcher,
                run,
                chat_id,
                new_message(activities.message_id, "ci:help:"),
                lambda: user_presses(state, chat_id, activities.message_id, done, forge=False),
            )
            help_question = found(chat, activities.message_id, "ci:help:")
            no = next(d for d in button_data(help_question) if d.endswith(":no"))
            await act(
                watcher,
                run,
                chat_id,
                new_message(help_question.message_id),
                lambda: user_presses(state, chat_id, help_question.message_id, no, forge=False),
            )

        return actions

    env = child_env(
        {
            "STEGVIS_DATABASE_URL": url,
            "STEGVIS_TELEGRAM_BASE_URL": emulator.bot_api_url,
            "STEGVIS_TELEGRAM_FILE_URL": emulator.file_url,
            "STEGVIS_BOT_TOKEN": SANDBOX_TOKEN,
            "STEGVIS_ENCRYPTION_KEY": key,
            "STEGVIS_DATA_DIR": str(folder),
            "STEGVIS_WEB_WITH_BOT": "false",
            # Limits off, as in the outbox benchmark: this measures the bot, not pacing.
            "STEGVIS_DISPATCH_RATE": "0",
            "STEGVIS_DISPATCH_CHAT_RATE": "0",
        }
    )
    command = ["-m", "bot", "run"]
    if profile is not None:  # the same start, with a profiler the benchmark switches on
        command = ["-m", "bench._profiled", str(profile), "run"]
    child = Child([sys.executable, *command], env, folder / "stegvis.log")
    await child.start()
    try:
        # Ready when every participant has the check-in's first question.
        await wait_for_state(
            child,
            state,
            lambda: all(
                any(
                    data.startswith("ci:mood:")
                    for message in state.chats[chat_id].messages.values()
                    for data in button_data(message)
                )
                for chat_id in ids
            ),
            "the check-in questions",
        )
        await measure(child, run, [user(chat_id) for chat_id in ids], profile=profile is not None)
    finally:
        await child.stop()
    database = Database(url)
    try:
        run.check = await check_answers(database, count)
    finally:
        await database.dispose()
    return run


# Reporting


def report(runs: Sequence[Run]) -> str:
    width = 30
    lines = [f"{'':<{width}}" + "".join(f"{run.name:>28}" for run in runs)]

    def row(label: str, values: Sequence[str]) -> None:
        lines.append(f"{label:<{width}}" + "".join(f"{value:>28}" for value in values))

    row("users", [f"{run.users:,}" for run in runs])
    row("updates", [f"{run.updates:,}" for run in runs])
    row("seconds", [f"{run.seconds:.2f}" for run in runs])
    row("updates/s", [f"{run.rate:,.0f}" for run in runs])
    for p in (50, 90, 99):
        row(f"latency p{p} (ms)", [f"{run.percentile(p) * 1000:.1f}" for run in runs])
    row("bot CPU per update (ms)", [f"{run.cpu_ms:.2f}" for run in runs])
    if len(runs) == 2:
        bare_run, ours = runs
        lines.append(
            f"ratio Stegvis/bare: time per update {bare_run.rate / ours.rate:.2f}x, "
            f"CPU per update {ours.cpu_ms / bare_run.cpu_ms:.2f}x, "
            f"p50 latency {ours.percentile(50) / bare_run.percentile(50):.2f}x"
        )
    for run in runs:
        lines.append(f"check, {run.name}: {run.check}")
    return "\n".join(lines)


def profile_report(path: Path) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs()
    out.write(
        f"== the Stegvis bot process under cProfile, while the users answered: "
        f"top {TOP} by cumulative time (coroutines count the time they waited) ==\n"
    )
    stats.sort_stats("cumulative").print_stats(TOP)
    out.write(f"== top {TOP} by own time ==\n")
    stats.sort_stats("tottime").print_stats(TOP)
    return out.getvalue()


async def bench(count: int, url: str | None, profile: bool) -> int:
    key = generate_key()
    install_keyring(Keyring(key))
    with tempfile.TemporaryDirectory(prefix="stegvis-bench-") as name:
        folder = Path(name)
        database_url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
        backend = "SQLite"
        if url is not None:
            made = await postgres_database(url)
            if made is None:
                return 1
            database_url, backend = made, "PostgreSQL"
        print(
            f"updates benchmark: {count} users each, {os.cpu_count()} cores, "
            f"Python {sys.version.split()[0]}, Stegvis on {backend}",
            flush=True,
        )
        profile_path = folder / "stegvis.prof" if profile else None
        try:
            async with run_emulator(SANDBOX_TOKEN) as emulator:
                bare_run = await bare(emulator, count, folder)
                ours = await stegvis(emulator, count, database_url, key, folder, profile_path)
        finally:
            if url is not None:
                await drop_postgres(url, database_url)
        print(report([bare_run, ours]), flush=True)
        if profile_path is not None and profile_path.exists():
            print(profile_report(profile_path), flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench updates", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--participants", type=int, default=200, help="users in each run")
    parser.add_argument("--profile", action="store_true", help="profile the Stegvis bot")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    options = parser.parse_args(argv)
    return asyncio.run(bench(options.participants, options.database_url, options.profile))
