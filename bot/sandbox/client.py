"""A typed async client for the emulator's ``/sandbox`` API, for tests and tools.

Waiting is event-driven: :meth:`SandboxClient.wait_for_bot_message` and friends hold a
long poll open on the emulator, which answers as soon as the chat changes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

JSONDict = dict[str, Any]
Button = tuple[str, str | None]


class SandboxError(Exception):
    """The client API refused a request (unknown user, missing button, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SandboxUser:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    role: str | None
    blocked: bool
    started: bool

    @classmethod
    def from_json(cls, data: JSONDict) -> SandboxUser:
        return cls(
            id=data["id"],
            first_name=data["first_name"],
            last_name=data.get("last_name"),
            username=data.get("username"),
            language_code=data.get("language_code"),
            role=data.get("role"),
            blocked=bool(data.get("blocked")),
            started=bool(data.get("started")),
        )


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to one button press (``answerCallbackQuery``)."""

    callback_query_id: str
    message_id: int
    data: str
    answered: bool
    text: str | None
    show_alert: bool
    url: str | None

    @classmethod
    def from_json(cls, data: JSONDict) -> CallbackAnswer:
        answer = data.get("answer") or {}
        return cls(
            callback_query_id=data["id"],
            message_id=data["message_id"],
            data=data["data"],
            answered=bool(data.get("answered")),
            text=answer.get("text"),
            show_alert=bool(answer.get("show_alert")),
            url=answer.get("url"),
        )


@dataclass(frozen=True)
class ChatMessage:
    """One message of a private chat, in either direction, with edits applied."""

    id: int
    chat_id: int
    from_bot: bool
    date: int
    sent_at: float
    text: str | None
    caption: str | None
    buttons: list[list[Button]]
    button_urls: dict[str, str]
    reply_keyboard: list[list[str]] | None
    photo: str | None
    document: str | None
    voice: str | None
    audio: str | None
    video: str | None
    sticker: str | None
    file_name: str | None
    media_url: str | None
    location: tuple[float, float] | None
    edited: bool
    deleted: bool
    callback_answers: list[CallbackAnswer]
    entities: list[JSONDict] = field(repr=False)
    raw: JSONDict = field(repr=False)

    @classmethod
    def from_json(cls, data: JSONDict) -> ChatMessage:
        media = data.get("media") or {}
        kind = media.get("kind")
        keyboard = data.get("reply_keyboard") or {}
        rows = keyboard.get("keyboard")
        location = data.get("location")
        return cls(
            id=data["message_id"],
            chat_id=data["chat_id"],
            from_bot=data["from_bot"],
            date=data["date"],
            sent_at=data["sent_at"],
            text=data.get("text"),
            caption=data.get("caption"),
            buttons=[[(b["text"], b.get("callback_data")) for b in row] for row in data["buttons"]],
            button_urls={
                b["text"]: b["url"] for row in data["buttons"] for b in row if b.get("url")
            },
            reply_keyboard=[[b["text"] for b in row] for row in rows] if rows else None,
            photo=media.get("file_id") if kind == "photo" else None,
            document=media.get("file_id") if kind == "document" else None,
            voice=media.get("file_id") if kind == "voice" else None,
            audio=media.get("file_id") if kind == "audio" else None,
            video=media.get("file_id") if kind == "video" else None,
            sticker=media.get("file_id") if kind == "sticker" else None,
            file_name=media.get("file_name"),
            media_url=media.get("url"),
            location=(location["latitude"], location["longitude"]) if location else None,
            edited=bool(data.get("edited")),
            deleted=bool(data.get("deleted")),
            callback_answers=[CallbackAnswer.from_json(q) for q in data["callback_queries"]],
            entities=list(data.get("entities") or []),
            raw=data["telegram"],
        )

    @property
    def body(self) -> str:
        """The text, or the caption of a media message, or ``""``."""
        return self.text or self.caption or ""

    @property
    def button_labels(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    def button_data(self, label_contains: str) -> str:
        """The callback_data of the first button whose label contains the given text."""
        for row in self.buttons:
            for text, data in row:
                if label_contains.casefold() in text.casefold() and data is not None:
                    return data
        raise LookupError(f"no button containing {label_contains!r} in {self.button_labels}")


@dataclass(frozen=True)
class Sent:
    """A user's message as stored, and the update id the bot will see it under."""

    message: ChatMessage
    update_id: int | None


@dataclass(frozen=True)
class Press:
    callback_query_id: str
    update_id: int | None
    message: ChatMessage


@dataclass(frozen=True)
class ChatSnapshot:
    chat_id: int
    version: int
    chat_action: str | None
    reply_keyboard: JSONDict | None
    messages: list[ChatMessage]


@dataclass(frozen=True)
class Stats:
    calls: dict[str, int]
    total_calls: int
    too_many_requests: int
    faults_served: int
    messages_per_chat: dict[int, int]
    updates_created: int
    pending_updates: int
    webhook_deliveries: int
    webhook_failures: int

    @classmethod
    def from_json(cls, data: JSONDict) -> Stats:
        return cls(
            calls=dict(data["calls"]),
            total_calls=data["total_calls"],
            too_many_requests=data["too_many_requests"],
            faults_served=data["faults_served"],
            messages_per_chat={int(k): v for k, v in data["messages_per_chat"].items()},
            updates_created=data["updates_created"],
            pending_updates=data["pending_updates"],
            webhook_deliveries=data["webhook_deliveries"],
            webhook_failures=data["webhook_failures"],
        )


FaultKind = Literal["error", "delay", "drop"]


class SandboxClient:
    """Talks to one emulator's client API over HTTP."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(
        self, method: str, path: str, body: JSONDict | None = None, **params: Any
    ) -> JSONDict:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self._http.request(
            method, f"{self.base_url}/sandbox{path}", json=body, params=query
        )
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            raise SandboxError(response.status_code, str(data.get("error", data)))
        if not isinstance(data, dict):
            raise SandboxError(response.status_code, "unexpected answer")
        return data

    # ------------------------------------------------------------ users

    async def info(self) -> JSONDict:
        return await self._request("GET", "/info")

    async def create_user(
        self,
        first_name: str,
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "sv",
        role: str | None = None,
        started: bool | None = None,
    ) -> SandboxUser:
        """Create (or, with a known ``user_id``, update) a Telegram user.

        A new user has not started the bot: Telegram refuses the bot's messages to them
        (403) until they write first, or pass ``started=True``.
        """
        body: JSONDict = {"first_name": first_name, "id": user_id, "last_name": last_name}
        body.update(username=username, language_code=language_code, role=role, started=started)
        return SandboxUser.from_json(await self._request("POST", "/users", body))

    async def update_user(self, user_id: int, **fields: Any) -> SandboxUser:
        return SandboxUser.from_json(
            await self._request("POST", "/users", {"id": user_id, **fields})
        )

    async def users(self) -> list[SandboxUser]:
        data = await self._request("GET", "/users")
        return [SandboxUser.from_json(u) for u in data["users"]]

    async def user(self, user_id: int) -> SandboxUser:
        return SandboxUser.from_json(await self._request("GET", f"/users/{user_id}"))

    async def commands_for(self, user_id: int) -> list[tuple[str, str]]:
        """The command menu this user's Telegram client would show."""
        data = await self._request("GET", f"/users/{user_id}/commands")
        return [(c["command"], c["description"]) for c in data["commands"]]

    # ------------------------------------------------------------ the user acts

    async def _act(self, user_id: int, action: str, body: JSONDict) -> JSONDict:
        return await self._request("POST", f"/users/{user_id}/{action}", body)

    async def _sent(self, user_id: int, action: str, body: JSONDict) -> Sent:
        data = await self._act(user_id, action, body)
        return Sent(ChatMessage.from_json(data["message"]), data.get("update_id"))

    async def send_text(self, user_id: int, text: str, *, reply_to: int | None = None) -> Sent:
        return await self._sent(user_id, "text", {"text": text, "reply_to_message_id": reply_to})

    async def send_command(self, user_id: int, command: str, args: str | None = None) -> Sent:
        """``send_command(uid, "start", "CODE")`` sends ``/start CODE`` with its entity."""
        return await self._sent(user_id, "command", {"command": command, "args": args})

    async def send_sticker(self, user_id: int, emoji: str = "👍") -> Sent:
        return await self._sent(user_id, "sticker", {"emoji": emoji})

    async def send_photo(
        self, user_id: int, data: bytes | None = None, *, caption: str | None = None
    ) -> Sent:
        return await self._sent(user_id, "photo", {"data_b64": _b64(data), "caption": caption})

    async def send_voice(
        self, user_id: int, data: bytes | None = None, *, duration: int = 1
    ) -> Sent:
        return await self._sent(user_id, "voice", {"data_b64": _b64(data), "duration": duration})

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> Sent:
        body = {"data_b64": _b64(data), "file_name": file_name, "mime_type": mime_type}
        return await self._sent(user_id, "document", {**body, "caption": caption})

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> Sent:
        return await self._sent(user_id, "location", {"latitude": latitude, "longitude": longitude})

    async def send_contact(
        self, user_id: int, phone_number: str, *, first_name: str | None = None, own: bool = True
    ) -> Sent:
        body = {"phone_number": phone_number, "first_name": first_name, "own": own}
        return await self._sent(user_id, "contact", body)

    async def edit_text(self, user_id: int, message_id: int, text: str) -> Sent:
        return await self._sent(user_id, "edit", {"message_id": message_id, "text": text})

    async def press(
        self, user_id: int, message_id: int, data: str, *, forge: bool = False
    ) -> Press:
        """Press the inline button with ``data`` on a bot message. ``forge=True`` sends
        the callback even if the message has no such button."""
        body = {"message_id": message_id, "data": data, "forge": forge}
        result = await self._act(user_id, "press", body)
        return Press(
            result["callback_query_id"],
            result.get("update_id"),
            ChatMessage.from_json(result["message"]),
        )

    async def press_button(
        self, user_id: int, label_contains: str, *, message_id: int | None = None
    ) -> Press:
        """Press the button whose label contains ``label_contains`` on the given message,
        or on the latest bot message that has buttons."""
        if message_id is None:
            target = await self.latest_bot_message(user_id, with_buttons=True)
            if target is None:
                raise LookupError(f"no bot message with buttons in chat {user_id}")
        else:
            found = [m for m in await self.messages(user_id) if m.id == message_id]
            if not found:
                raise LookupError(f"no message {message_id} in chat {user_id}")
            target = found[0]
        return await self.press(user_id, target.id, target.button_data(label_contains))

    async def block(self, user_id: int) -> None:
        await self._act(user_id, "block", {})

    async def unblock(self, user_id: int) -> None:
        await self._act(user_id, "unblock", {})

    # ------------------------------------------------------------ reading chats

    async def snapshot(
        self,
        chat_id: int,
        *,
        after_message_id: int | None = None,
        since_version: int | None = None,
        wait: float | None = None,
    ) -> ChatSnapshot:
        data = await self._request(
            "GET",
            f"/chats/{chat_id}/messages",
            after=after_message_id,
            since_version=since_version,
            wait=wait,
        )
        return ChatSnapshot(
            chat_id=data["chat_id"],
            version=data["version"],
            chat_action=data.get("chat_action"),
            reply_keyboard=data.get("reply_keyboard"),
            messages=[ChatMessage.from_json(m) for m in data["messages"]],
        )

    async def messages(
        self, chat_id: int, *, after_message_id: int | None = None
    ) -> list[ChatMessage]:
        """Every message of the chat (both directions, deleted ones marked)."""
        return (await self.snapshot(chat_id, after_message_id=after_message_id)).messages

    async def bot_messages(
        self, chat_id: int, *, after_message_id: int | None = None, include_deleted: bool = False
    ) -> list[ChatMessage]:
        return [
            m
            for m in await self.messages(chat_id, after_message_id=after_message_id)
            if m.from_bot and (include_deleted or not m.deleted)
        ]

    async def latest_bot_message(
        self, chat_id: int, *, with_buttons: bool = False
    ) -> ChatMessage | None:
        for message in reversed(await self.bot_messages(chat_id)):
            if not with_buttons or message.buttons:
                return message
        return None

    async def wait_for_bot_message(
        self,
        chat_id: int,
        after_message_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (a deadline for the long poll, by design)
        predicate: Callable[[ChatMessage], bool] | None = None,
    ) -> ChatMessage:
        """The first bot message after ``after_message_id`` (default: after the user's
        latest message) that satisfies ``predicate``; TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if after_message_id is None:
            mine = [m.id for m in await self.messages(chat_id) if not m.from_bot]
            after_message_id = max(mine, default=0)
        cursor = after_message_id
        seen: list[ChatMessage] = []
        while True:
            remaining = deadline - loop.time()
            snapshot = await self.snapshot(
                chat_id, after_message_id=cursor, wait=max(remaining, 0.0)
            )
            for message in snapshot.messages:
                if message.from_bot and not message.deleted:
                    if predicate is None or predicate(message):
                        return message
                    seen.append(message)
            if snapshot.messages:
                cursor = max(cursor, max(m.id for m in snapshot.messages))
            if loop.time() >= deadline:
                texts = [m.body for m in seen]
                raise TimeoutError(
                    f"no matching bot message in chat {chat_id} after {after_message_id} "
                    f"within {timeout}s; other bot messages: {texts}"
                )

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[list[ChatMessage]], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (a deadline for the long poll, by design)
    ) -> list[ChatMessage]:
        """Wait until the whole chat satisfies ``predicate`` (edits, answers, deletions)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        version: int | None = None
        while True:
            remaining = deadline - loop.time()
            snapshot = await self.snapshot(
                chat_id,
                since_version=version,
                wait=max(remaining, 0.0) if version is not None else None,
            )
            if predicate(snapshot.messages):
                return snapshot.messages
            if loop.time() >= deadline:
                raise TimeoutError(f"chat {chat_id} did not reach the expected state in {timeout}s")
            version = snapshot.version

    async def callback_answers(
        self, chat_id: int, callback_query_id: str | None = None
    ) -> list[CallbackAnswer]:
        data = await self._request(
            "GET", f"/chats/{chat_id}/callbacks", callback_query_id=callback_query_id
        )
        return [CallbackAnswer.from_json(q) for q in data["callback_queries"]]

    async def wait_for_callback_answer(
        self,
        chat_id: int,
        callback_query_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Wait until the bot has answered this button press."""

        def answered(messages: list[ChatMessage]) -> bool:
            return any(
                a.callback_query_id == callback_query_id and a.answered
                for m in messages
                for a in m.callback_answers
            )

        await self.wait_for(chat_id, answered, timeout)
        answers = await self.callback_answers(chat_id, callback_query_id)
        return answers[0]

    async def file_bytes(self, file_id: str) -> bytes:
        response = await self._http.get(f"{self.base_url}/sandbox/files/{file_id}")
        if response.status_code >= 400:
            raise SandboxError(response.status_code, response.text)
        return response.content

    # ------------------------------------------------------------ faults, stats

    async def inject_fault(
        self,
        method: str | None = None,
        *,
        status: int = 500,
        description: str | None = None,
        times: int = 1,
        kind: FaultKind = "error",
        retry_after: int | None = None,
        delay: float = 0.0,
        after_effect: bool = False,
    ) -> int:
        """Make the next ``times`` calls of ``method`` (any method if None) fail."""
        body: JSONDict = {"method": method, "status": status, "description": description}
        body.update(times=times, kind=kind, retry_after=retry_after, delay=delay)
        body["after_effect"] = after_effect
        data = await self._request("POST", "/faults", body)
        return int(data["id"])

    async def faults(self) -> list[JSONDict]:
        return list((await self._request("GET", "/faults"))["faults"])

    async def clear_faults(self) -> None:
        await self._request("DELETE", "/faults")

    async def stats(self) -> Stats:
        return Stats.from_json(await self._request("GET", "/stats"))

    async def pending_updates(self) -> list[JSONDict]:
        return list((await self._request("GET", "/updates"))["pending"])

    async def reset(self) -> None:
        await self._request("POST", "/reset", {})


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None
