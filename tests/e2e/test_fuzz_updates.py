"""Random updates never crash the bot, never get an untranslated answer, and never change
another participant's data.

Hypothesis writes the updates: text in many scripts with control and right-to-left
override characters, texts past Telegram's limit, commands with odd arguments, random
and almost-right callback data, stickers, photos, locations, edits, group messages and
update kinds the bot has no handler for. They come from a joined participant and from a
stranger, and go through the whole bot: inbox, handlers, outbox, the emulator.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import catalogs
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import Emulator
from bot.turn import TurnOutcome
from storage import migrate
from storage.crypto import Keyring, install_keyring
from storage.db import Database
from storage.models import Base, InboxUpdate, Participant
from tests.conftest import CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Person, Stack

T = TypeVar("T")

VICTIM = 8001
MENTOR = 7001
STRANGER = 9002
FUZZER = 9001
EXAMPLES = int(os.environ.get("STEGVIS_FUZZ_EXAMPLES", "60"))


class Background:
    """The whole stack in an event loop of its own thread, so Hypothesis (synchronous)
    can drive it example after example without restarting it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def untranslated_fragments() -> dict[str, str]:
    """English source texts a Swedish or Arabic reader must never see as such, each with
    its Swedish translation: a message showing both (the language picker, written in
    every language before anyone has chosen) is meant to."""
    swedish = {str(m.id): m.string for m in catalogs.read("sv") if isinstance(m.id, str) and m.id}
    fragments: dict[str, str] = {}
    for source, translated in swedish.items():
        if translated == source:
            continue
        for piece in re.split(r"\{[^}]*\}", source):
            piece = piece.strip()
            if len(piece) >= 14:
                fragments[piece] = str(translated)
    return fragments


async def snapshot_of(database: Database, participant_id: int, telegram_id: int) -> list[Any]:
    """Every row that belongs to one participant, in every table that says so."""
    rows: list[Any] = []
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = {column.name for column in table.columns}
            if table.name == "participant":
                condition = table.c.id == participant_id
            elif "participant_id" in columns and table.name != "outbox":
                condition = table.c.participant_id == participant_id
            elif table.name == "conversation":
                condition = table.c.telegram_user_id == telegram_id
            else:
                continue
            found = (await session.execute(select(table).where(condition))).all()
            rows.append((table.name, sorted(map(repr, found))))
    return rows


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, _session_keyring: Keyring
) -> Iterator[dict[str, Any]]:
    install_keyring(_session_keyring)  # module-scoped: set up before the per-test key
    background = Background()
    tmp = tmp_path_factory.mktemp("fuzz")
    errors = ErrorLog()
    logging.getLogger("bot").addHandler(errors)

    async def setup() -> dict[str, Any]:
        database = Database(f"sqlite+aiosqlite:///{tmp / 'fuzz.sqlite3'}")
        await migrate.upgrade(database)
        emulator = Emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME)
        await emulator.start()
        stack = Stack(
            emulator=emulator,
            database=database,
            clock=ManualClock(),
            randomness=CountingRandomness(),
            settings=load_settings(data_dir=Path(tmp)),
        )
        await stack.start_bot()
        await stack.cohort()
        mentor_id = await stack.mentor(telegram_user_id=MENTOR)
        await stack.person(MENTOR, "Amina")
        people: dict[int, Person] = {}
        for user_id, name, language in ((VICTIM, "Sara", "sv"), (FUZZER, "Mallory", "sv")):
            code = await stack.invite(mentor_id=mentor_id)
            person = await stack.person(user_id, name, language)
            await person.command("start", code)
            await person.press("Svenska")
            await person.press("Ja, jag godkänner")
            await person.expect("Välkommen")
            people[user_id] = person
        people[STRANGER] = await stack.person(STRANGER, "Okänd", "ar")
        async with database.session() as session:
            victim = (
                await session.scalars(
                    select(Participant).where(Participant.telegram_user_id == VICTIM)
                )
            ).one()
        return {"stack": stack, "people": people, "victim_id": victim.id}

    state = background.call(setup())
    state["background"] = background
    state["errors"] = errors
    state["fragments"] = untranslated_fragments()
    yield state

    async def teardown() -> None:
        stack: Stack = state["stack"]
        await stack.stop_bot()
        await stack.emulator.stop()
        await stack.database.dispose()

    background.call(teardown())
    background.close()
    logging.getLogger("bot").removeHandler(errors)


SCRIPTS = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf"),
)
TRICKY = st.sampled_from(
    [
        "\u202eevil\u202c",
        "\u200f\u200e",
        "\x00",
        "\u2066x\u2069",
        "<b>fet</b>",
        "*fet* _x_",
        "`kod`",
        "[länk](http://x)",
        "/start",
        "/start ABCD1234",
        "/menu extra words",
        "ja",
        "نعم",
        "han slår mig",
        "بدي موت",
        "🙂" * 50,
        "a" * 4097,
        "x" * 10000,
        " ",
        "\n\n",
    ]
)
COMMANDS = st.sampled_from(
    [
        "start",
        "menu",
        "help",
        "language",
        "stop",
        "rating",
        "checkin",
        "caseload",
        "participant",
        "step",
        "remind",
        "mydata",
        "delete",
        "plan",
        "pending",
        "cases",
        "fika",
        "START",
        "menu@" + BOT_USERNAME,
        "menu@other_bot",
    ]
)
CALLBACK = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\A[a-z]{2,8}(:[A-Za-z0-9_.\-]{1,12}){0,4}\Z"),
    st.builds(
        lambda flow, action, args: ":".join([flow, action, *args]),
        st.sampled_from(["onb", "lang", "menu", "ci", "sr", "help", "case", "rem", "priv", "plan"]),
        st.sampled_from(["lang", "consent", "set", "open", "yes", "no", "claim", "resolve", "x"]),
        st.lists(
            st.one_of(
                st.sampled_from(["sv", "ar", "yes", "no", "1", "-1"]),
                st.integers(-(10**12), 10**12).map(str),
            ),
            max_size=3,
        ),
    ),
)
_ids = itertools.count(5_000_000)


def message(chat: dict[str, Any], sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "message_id": next(_ids) % 100_000,
        "date": 1767600000,
        "chat": chat,
        "from": sender,
        **fields,
    }


@st.composite
def update(draw: st.DrawFn) -> dict[str, Any]:
    user_id = draw(st.sampled_from([FUZZER, STRANGER]))
    sender = {
        "id": user_id,
        "is_bot": False,
        "first_name": draw(st.text(SCRIPTS, max_size=30)),
        "language_code": draw(st.sampled_from(["sv", "ar", "de", None])),
    }
    chat = {"id": user_id, "type": "private", "first_name": "x"}
    kind = draw(
        st.sampled_from(
            [
                "text",
                "text",
                "command",
                "callback",
                "callback",
                "sticker",
                "photo",
                "location",
                "edited",
                "group",
                "channel",
                "member",
                "unknown",
                "voice",
                "contact",
            ]
        )
    )
    uid = next(_ids)
    if kind == "text":
        body = draw(st.one_of(st.text(SCRIPTS, max_size=300), TRICKY))
        return {"update_id": uid, "message": message(chat, sender, text=body)}
    if kind == "command":
        name = draw(COMMANDS)
        args = draw(st.one_of(st.just(""), st.text(SCRIPTS, max_size=40), TRICKY))
        body = f"/{name} {args}".rstrip()
        entity = [{"type": "bot_command", "offset": 0, "length": len(name) + 1}]
        return {"update_id": uid, "message": message(chat, sender, text=body, entities=entity)}
    if kind == "callback":
        bot_message = message(chat, {"id": 1, "is_bot": True, "first_name": "Stegvis"}, text="x")
        bot_message["message_id"] = draw(st.integers(1, 400))
        return {
            "update_id": uid,
            "callback_query": {
                "id": str(uid),
                "from": sender,
                "chat_instance": "1",
                "message": bot_message,
                "data": draw(CALLBACK),
            },
        }
    if kind == "sticker":
        return {
            "update_id": uid,
            "message": message(
                chat,
                sender,
                sticker={
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            ),
        }
    if kind == "photo":
        return {
            "update_id": uid,
            "message": message(
                chat,
                sender,
                photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
                caption=draw(st.text(SCRIPTS, max_size=50)),
            ),
        }
    if kind == "voice":
        return {
            "update_id": uid,
            "message": message(
                chat, sender, voice={"file_id": "v", "file_unique_id": "v", "duration": 1}
            ),
        }
    if kind == "contact":
        return {
            "update_id": uid,
            "message": message(
                chat,
                sender,
                contact={"phone_number": "+46700000000", "first_name": "X", "user_id": VICTIM},
            ),
        }
    if kind == "location":
        return {
            "update_id": uid,
            "message": message(chat, sender, location={"latitude": 59.3, "longitude": 18.0}),
        }
    if kind == "edited":
        return {
            "update_id": uid,
            "edited_message": message(
                chat, sender, text=draw(st.text(SCRIPTS, max_size=50)), edit_date=1767600001
            ),
        }
    if kind == "group":
        group = {"id": -100123, "type": "supergroup", "title": "g"}
        return {"update_id": uid, "message": message(group, sender, text="/menu")}
    if kind == "channel":
        return {
            "update_id": uid,
            "channel_post": message(
                {"id": -100999, "type": "channel", "title": "c"}, sender, text="hej"
            ),
        }
    if kind == "member":
        return {
            "update_id": uid,
            "my_chat_member": {
                "chat": chat,
                "from": sender,
                "date": 1767600000,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 1, "is_bot": True, "first_name": "Stegvis"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 1, "is_bot": True, "first_name": "Stegvis"},
                },
            },
        }
    return {
        "update_id": uid,
        "poll": {
            "id": "1",
            "question": "?",
            "options": [],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        },
    }


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(updates=st.lists(update(), min_size=1, max_size=4))
def test_random_updates_are_answered_kindly_and_harm_nobody(
    world: dict[str, Any], updates: list[dict[str, Any]]
) -> None:
    background: Background = world["background"]
    stack: Stack = world["stack"]
    errors: ErrorLog = world["errors"]

    async def run() -> tuple[list[Any], list[Any], list[str], int, set[int]]:
        victim_before = await snapshot_of(stack.database, world["victim_id"], VICTIM)
        before = {
            user_id: max((m.id for m in await stack.client.messages(user_id)), default=0)
            for user_id in (FUZZER, STRANGER)
        }
        assert stack.runtime is not None
        for handled in await stack.runtime.accept(updates):
            await asyncio.wait_for(handled, 30)
        await stack.runtime.dispatcher.run_once()
        victim_after = await snapshot_of(stack.database, world["victim_id"], VICTIM)
        texts = []
        for user_id, last in before.items():
            for sent in await stack.client.bot_messages(user_id, after_message_id=last):
                texts.append(sent.body)
            for answer in await stack.client.callback_answers(user_id):
                if answer.text:
                    texts.append(answer.text)
        async with stack.database.session() as session:
            left = len((await session.scalars(select(InboxUpdate.update_id))).all())
        return (
            victim_before,
            victim_after,
            texts,
            left,
            {
                update_id
                for update_id, outcome in stack.runtime.deps.turn_outcomes.items()
                if outcome is TurnOutcome.FAILED
            },
        )

    errors.records.clear()
    victim_before, victim_after, texts, left, failed = background.call(run())
    assert [r.getMessage() for r in errors.records] == [], "the bot logged errors"
    assert failed == set() and left == 0
    assert victim_after == victim_before, "another participant's data changed"
    for body in texts:
        leaked = [
            fragment
            for fragment, swedish in world["fragments"].items()
            if fragment in body and swedish not in body
        ]
        assert leaked == [], f"untranslated text reached a Swedish or Arabic reader: {leaked}"
