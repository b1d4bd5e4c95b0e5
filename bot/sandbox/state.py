"""The emulator's whole world, in memory: users, chats, messages, files, updates, faults.

Concurrency rule: every method that changes state is synchronous, so under asyncio it
runs to completion between two awaits and needs no lock. Whoever waits for a change
(long polls, the webhook deliverer, the web page) awaits :meth:`EmulatorState.wait_for`,
which sleeps on an event that :meth:`EmulatorState.notify` fires after each change. Nothing
polls on a timer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

JSONDict = dict[str, Any]

# Not a secret: the emulator accepts whatever token it is given; this is the default.
DEFAULT_TOKEN = "123456789:SANDBOX-token-for-local-use-only"  # noqa: S105

# Update types Telegram delivers when allowed_updates is empty or was never set.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass(frozen=True)
class Persona:
    """A ready-made test user shown on the web chat page."""

    user_id: int
    first_name: str
    language_code: str = "sv"
    role: str = "Participant"
    last_name: str | None = None
    username: str | None = None
    # What START sends after /start, as opening a t.me/bot?start=CODE link would.
    start_parameter: str | None = None

    def to_json(self) -> JSONDict:
        return {
            "start_parameter": self.start_parameter,
            "user_id": self.user_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "role": self.role,
        }


@dataclass(frozen=True)
class RateLimits:
    """Telegram-like flood limits on sent messages; every field ``None`` (off) by default.

    Telegram's published guidance is about 30 messages per second overall and about one
    per second per chat; exceeding a limit answers 429 with ``parameters.retry_after``.
    """

    per_second: int | None = None
    per_chat_per_second: int | None = None
    per_chat_per_minute: int | None = None

    @property
    def enabled(self) -> bool:
        return any(
            limit is not None
            for limit in (self.per_second, self.per_chat_per_second, self.per_chat_per_minute)
        )


FaultKind = Literal["error", "delay", "drop"]


@dataclass
class Fault:
    """An injected failure served instead of (or after) the next ``remaining`` calls.

    kind ``error`` answers ``status``/``description`` (with ``retry_after`` for 429);
    ``delay`` waits ``delay`` seconds and then answers normally, unless the client gave up
    first; ``drop`` closes the connection without an answer. With ``after_effect`` the
    call takes effect before the failure is served, as when Telegram did the work but
    the answer was lost.
    """

    id: int
    method: str | None
    remaining: int
    kind: FaultKind = "error"
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0
    after_effect: bool = False

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "method": self.method,
            "remaining": self.remaining,
            "kind": self.kind,
            "status": self.status,
            "description": self.description,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "after_effect": self.after_effect,
        }


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    role: str | None = None
    blocked: bool = False
    started: bool = False

    def to_telegram(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        data["type"] = "private"
        return data

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "role": self.role,
            "blocked": self.blocked,
            "started": self.started,
        }


FileKind = Literal["photo", "document", "voice", "audio", "video", "sticker"]

_FILE_PREFIX: dict[str, str] = {
    "photo": "AgAC",
    "document": "BQAC",
    "voice": "AwAC",
    "audio": "CQAC",
    "video": "BAAC",
    "sticker": "CAAC",
}
_FILE_DIR: dict[str, str] = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "audio": "music",
    "video": "videos",
    "sticker": "stickers",
}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: FileKind
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    # A photo is stored once per size; the largest holds the ids of all sizes, smallest
    # first, and each smaller one names the largest as its parent.
    sizes: list[str] = field(default_factory=list)
    parent: str | None = None
    # Further Telegram fields of the object, such as a sticker's emoji.
    extra: JSONDict = field(default_factory=dict)

    @property
    def file_size(self) -> int:
        return len(self.data)

    def to_telegram(self) -> JSONDict:
        """The Telegram object for this file (PhotoSize, Document, Voice, ...)."""
        data: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.kind in ("photo", "video", "sticker"):
            data["width"] = self.width or 0
            data["height"] = self.height or 0
        if self.kind in ("voice", "audio", "video"):
            data["duration"] = self.duration or 0
        if self.kind in ("document", "audio", "video") and self.file_name:
            data["file_name"] = self.file_name
        if self.kind != "photo" and self.mime_type and self.kind != "sticker":
            data["mime_type"] = self.mime_type
        data["file_size"] = self.file_size
        return data


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    date: int

    def to_json(self) -> JSONDict:
        return {
            "callback_query_id": self.callback_query_id,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "cache_time": self.cache_time,
            "date": self.date,
        }


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    date: int
    answer: CallbackAnswer | None = None

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "date": self.date,
            "answered": self.answer is not None,
            "answer": self.answer.to_json() if self.answer else None,
        }


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    from_bot: bool
    data: JSONDict
    reply_keyboard: JSONDict | None = None
    deleted: bool = False
    edit_count: int = 0
    callback_ids: list[str] = field(default_factory=list)
    # When it was stored, to the microsecond: lets tests check how a sender paces itself.
    sent_at: float = 0.0

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        markup = self.data.get("reply_markup") or {}
        rows: list[list[JSONDict]] = markup.get("inline_keyboard") or []
        return rows


@dataclass
class Chat:
    user: User
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    version: int = 0
    action: str | None = None
    action_until: float = 0.0
    reply_keyboard: JSONDict | None = None

    @property
    def id(self) -> int:
        return self.user.id

    def last_user_message_id(self) -> int:
        ids = [m.message_id for m in self.messages.values() if not m.from_bot]
        return max(ids, default=0)


@dataclass
class PendingUpdate:
    update_id: int
    kind: str
    payload: JSONDict

    def to_json(self) -> JSONDict:
        return {"update_id": self.update_id, self.kind: self.payload}


@dataclass
class WebhookConfig:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    generation: int = 0
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    too_many_requests: int = 0
    faults_served: int = 0
    messages_per_chat: Counter[int] = field(default_factory=Counter)
    updates_created: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    def to_json(self, pending_updates: int) -> JSONDict:
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "too_many_requests": self.too_many_requests,
            "faults_served": self.faults_served,
            "messages_per_chat": {str(k): v for k, v in self.messages_per_chat.items()},
            "updates_created": self.updates_created,
            "pending_updates": pending_updates,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
        }


class RateLimiter:
    """Sliding-window counters for sent messages, overall and per chat."""

    def __init__(self, limits: RateLimits, monotonic: Callable[[], float]) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}

    def reset(self) -> None:
        self._overall.clear()
        self._per_chat.clear()

    def check(self, chat_id: int) -> int | None:
        """Record a send to ``chat_id``; return seconds to wait instead if over a limit."""
        if not self.limits.enabled:
            return None
        now = self._monotonic()
        chat_window = self._per_chat.setdefault(chat_id, deque())
        for window, horizon in ((self._overall, 1.0), (chat_window, 60.0)):
            while window and window[0] <= now - horizon:
                window.popleft()
        waits: list[float] = []
        if self.limits.per_second is not None:
            waits.append(self._wait(self._overall, self.limits.per_second, 1.0, now))
        if self.limits.per_chat_per_second is not None:
            recent = deque(t for t in chat_window if t > now - 1.0)
            waits.append(self._wait(recent, self.limits.per_chat_per_second, 1.0, now))
        if self.limits.per_chat_per_minute is not None:
            waits.append(self._wait(chat_window, self.limits.per_chat_per_minute, 60.0, now))
        wait = max(waits, default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.append(now)
        chat_window.append(now)
        return None

    @staticmethod
    def _wait(window: deque[float], limit: int, horizon: float, now: float) -> float:
        if len(window) < limit:
            return 0.0
        # The oldest send that still counts must leave the window first.
        return window[len(window) - limit] + horizon - now


class Pulse:
    """An event that is fired and replaced on every change, so waiters never miss one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @property
    def current(self) -> asyncio.Event:
        return self._event


def _digits_id(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1_000_000_001


class EmulatorState:
    """Everything the emulator knows. One instance per emulator; no globals."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "stegvis_sandbox_bot",
        bot_first_name: str = "Stegvis",
        personas: Iterable[Persona] = (),
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_id = _digits_id(token)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.personas: tuple[Persona, ...] = tuple(personas)
        self.rate_limits = rate_limits or RateLimits()
        self.clock = clock
        self.monotonic = monotonic
        self.limiter = RateLimiter(self.rate_limits, monotonic)
        self._pulse = Pulse()
        self.closing = False
        self._init_world()

    def _init_world(self) -> None:
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[PendingUpdate] = []
        self.next_update_id = 100_000_001
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.allowed_updates_list: list[str] | None = None
        self.poll_generation = 0
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.webhook = WebhookConfig()
        self.faults: list[Fault] = []
        self.next_fault_id = 1
        self.stats = Stats()
        self.next_user_id = 7_000_000_001
        self.limiter.reset()
        for persona in self.personas:
            self.upsert_user(
                user_id=persona.user_id,
                first_name=persona.first_name,
                last_name=persona.last_name,
                username=persona.username,
                language_code=persona.language_code,
                role=persona.role,
            )

    def reset(self) -> None:
        """Forget everything except the bot's identity, token, limits and personas.

        Update ids keep counting up and a waiting getUpdates keeps waiting, so a bot that
        polls across a reset neither drops new updates by its offset nor sees a conflict.
        """
        generation = self.webhook.generation
        next_update_id, poll_generation = self.next_update_id, self.poll_generation
        self._init_world()
        self.webhook.generation = generation + 1
        self.next_update_id, self.poll_generation = next_update_id, poll_generation
        self.notify()

    # ------------------------------------------------------------ waiting

    def now(self) -> int:
        return int(self.clock())

    def notify(self) -> None:
        self._pulse.fire()

    def close(self) -> None:
        """Wake every waiter so the server can stop without hanging on long polls."""
        self.closing = True
        self.notify()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        within: float,
        abort: asyncio.Future[Any] | None = None,
    ) -> bool:
        """Wait until ``predicate()`` holds (True) or ``within`` seconds pass / ``abort`` is done /
        the emulator closes (False). Wakes only when state changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(within, 0.0)
        while True:
            event = self._pulse.current
            if predicate():
                return True
            remaining = deadline - loop.time()
            if self.closing or remaining <= 0 or (abort is not None and abort.done()):
                return False
            waiter = asyncio.ensure_future(event.wait())
            waiting: set[asyncio.Future[Any]] = {waiter}
            if abort is not None:
                waiting.add(abort)
            try:
                await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    # ------------------------------------------------------------ identity

    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def get_me(self) -> JSONDict:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ------------------------------------------------------------ users and chats

    def upsert_user(
        self,
        *,
        user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        role: str | None = None,
        started: bool | None = None,
    ) -> User:
        if user_id is None:
            while self.next_user_id in self.users:
                self.next_user_id += 1
            user_id = self.next_user_id
            self.next_user_id += 1
        user = self.users.get(user_id)
        if user is None:
            if not first_name:
                raise ValueError("first_name is required for a new user")
            user = User(id=user_id, first_name=first_name)
            self.users[user_id] = user
            self.chats[user_id] = Chat(user=user)
        if first_name:
            user.first_name = first_name
        if last_name is not None:
            user.last_name = last_name or None
        if username is not None:
            user.username = username or None
        if language_code is not None:
            user.language_code = language_code or None
        if role is not None:
            user.role = role or None
        if started is not None:
            user.started = started
        self.chats[user_id].version += 1
        self.notify()
        return user

    def chat(self, chat_id: int) -> Chat:
        """The chat with ``chat_id`` as the bot sees it, or 400 ``chat not found``."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, chat_id: int) -> Chat:
        """A chat the bot may write to: known, started, not blocked."""
        chat = self.chat(chat_id)
        if chat.user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def touch(self, chat: Chat) -> None:
        chat.version += 1
        self.notify()

    def add_message(
        self,
        chat: Chat,
        *,
        from_bot: bool,
        content: JSONDict,
        reply_keyboard: JSONDict | None = None,
    ) -> StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        sender = self.bot_user() if from_bot else chat.user.to_telegram()
        data: JSONDict = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.user.chat(),
            "date": self.now(),
        }
        data.update(content)
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=message_id,
            from_bot=from_bot,
            data=data,
            reply_keyboard=reply_keyboard,
            sent_at=self.clock(),
        )
        chat.messages[message_id] = stored
        if from_bot:
            self.stats.messages_per_chat[chat.id] += 1
            chat.action = None
        self.touch(chat)
        return stored

    def message(self, chat: Chat, message_id: int) -> StoredMessage | None:
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            return None
        return stored

    # ------------------------------------------------------------ updates

    def push_update(self, kind: str, payload: JSONDict) -> int | None:
        """Queue an update unless allowed_updates filters it out; return its id."""
        if kind not in self.allowed_updates:
            return None
        update = PendingUpdate(self.next_update_id, kind, payload)
        self.next_update_id += 1
        self.updates.append(update)
        self.stats.updates_created += 1
        self.notify()
        return update.update_id

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps the last -offset."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u.update_id >= offset]

    def set_allowed_updates(self, allowed: list[str] | None) -> None:
        if allowed is None:
            return
        self.allowed_updates_list = list(allowed)
        self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES

    # ------------------------------------------------------------ files

    def store_file(
        self,
        kind: FileKind,
        data: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        extension: str = "bin",
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        digest = hashlib.sha256(kind.encode() + b"\0" + data).digest()
        unique = "AQAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        file_id = _FILE_PREFIX[kind] + "AgQAAxkBAAI" + secrets.token_urlsafe(30)
        path = f"{_FILE_DIR[kind]}/file_{len(self.files)}.{extension}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_path=path,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored

    # ------------------------------------------------------------ faults

    def add_fault(
        self,
        *,
        method: str | None,
        times: int = 1,
        kind: FaultKind = "error",
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        after_effect: bool = False,
    ) -> Fault:
        if kind not in ("error", "delay", "drop"):
            raise ValueError(f"unknown fault kind {kind!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if description is None:
            description = _default_description(status, retry_after)
        fault = Fault(
            id=self.next_fault_id,
            method=method.lower() if method and method != "*" else None,
            remaining=times,
            kind=kind,
            status=status,
            description=description,
            retry_after=retry_after,
            delay=delay,
            after_effect=after_effect,
        )
        self.next_fault_id += 1
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str) -> Fault | None:
        """The first queued fault for ``method`` (or for any method), consumed once."""
        key = method.lower()
        for fault in self.faults:
            if fault.method is None or fault.method == key:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                self.stats.faults_served += 1
                return fault
        return None

    # ------------------------------------------------------------ commands

    def commands_for_user(self, user: User) -> list[JSONDict]:
        """The command menu a Telegram client would show this user in the private chat."""
        chat_scope = _scope_key({"type": "chat", "chat_id": user.id})
        private = _scope_key({"type": "all_private_chats"})
        default = _scope_key({"type": "default"})
        lang = user.language_code or ""
        for scope in (chat_scope, private, default):
            for language in (lang, ""):
                commands = self.commands.get((scope, language))
                if commands:
                    return commands
        return []


def scope_key(scope: JSONDict | None) -> str:
    return _scope_key(scope or {"type": "default"})


def _scope_key(scope: JSONDict) -> str:
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request: injected fault",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: injected fault",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "Injected fault")
