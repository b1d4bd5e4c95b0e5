"""The emulator's own JSON API for tests and the web chat page, under ``/sandbox``.

It plays the Telegram users: they send texts, commands, media, press inline buttons and
block the bot; and it lets tests read each chat in both directions, inject faults and
read statistics. It answers loopback clients only and needs no token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.sandbox.botapi import MAX_TEXT, media_object, store_photo
from bot.sandbox.formatting import detect_entities, strip_text
from bot.sandbox.media import SAMPLE_OGG, SAMPLE_PNG, extension, guess_mime
from bot.sandbox.state import (
    CallbackQueryRecord,
    Chat,
    EmulatorState,
    JSONDict,
    StoredMessage,
    User,
)

MEDIA_KINDS = ("photo", "document", "voice", "audio", "video", "sticker")
MAX_WAIT = 60.0


class ClientError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------ views


def message_view(state: EmulatorState, stored: StoredMessage) -> JSONDict:
    """A chat message as tests and the web page read it."""
    data = stored.data
    kind = "text" if "text" in data else "other"
    media: JSONDict | None = None
    for name in MEDIA_KINDS:
        if name in data:
            kind = name
            value = data[name]
            item: JSONDict = value[-1] if isinstance(value, list) else value
            media = {
                "kind": name,
                "file_id": item["file_id"],
                "file_unique_id": item["file_unique_id"],
                "url": f"/sandbox/files/{item['file_id']}",
            }
            for key in (
                "file_name",
                "mime_type",
                "width",
                "height",
                "duration",
                "emoji",
                "file_size",
            ):
                if key in item:
                    media[key] = item[key]
            break
    for name in ("location", "contact"):
        if name in data:
            kind = name
    buttons = [
        [
            {
                "text": button["text"],
                "callback_data": button.get("callback_data"),
                "url": button.get("url"),
            }
            for button in row
        ]
        for row in stored.inline_keyboard
    ]
    callbacks = [state.callback_queries[qid].to_json() for qid in stored.callback_ids]
    reply = data.get("reply_to_message")
    return {
        "message_id": stored.message_id,
        "chat_id": stored.chat_id,
        "from_bot": stored.from_bot,
        "date": data["date"],
        "sent_at": stored.sent_at,
        "edit_date": data.get("edit_date"),
        "edited": stored.edit_count > 0 or "edit_date" in data,
        "deleted": stored.deleted,
        "kind": kind,
        "text": data.get("text"),
        "caption": data.get("caption"),
        "entities": data.get("entities") or data.get("caption_entities") or [],
        "buttons": buttons,
        "reply_keyboard": stored.reply_keyboard,
        "media": media,
        "location": data.get("location"),
        "contact": data.get("contact"),
        "reply_to_message_id": reply.get("message_id") if isinstance(reply, dict) else None,
        "callback_queries": callbacks,
        "telegram": data,
    }


def chat_view(state: EmulatorState, chat: Chat, after: int) -> JSONDict:
    action = chat.action if chat.action and chat.action_until > state.monotonic() else None
    return {
        "chat_id": chat.id,
        "version": chat.version,
        "user": chat.user.to_json(),
        "chat_action": action,
        "reply_keyboard": chat.reply_keyboard,
        "last_message_id": chat.next_message_id - 1,
        "messages": [
            message_view(state, m) for m in chat.messages.values() if m.message_id > after
        ],
    }


# ------------------------------------------------------------------ user actions


def _user(state: EmulatorState, user_id: int) -> User:
    user = state.users.get(user_id)
    if user is None:
        raise ClientError(404, f"unknown user {user_id}")
    return user


def _active_chat(state: EmulatorState, user_id: int) -> Chat:
    user = _user(state, user_id)
    if user.blocked:
        raise ClientError(409, "the user has blocked the bot; unblock it first")
    return state.chats[user_id]


def user_sends(state: EmulatorState, user_id: int, content: JSONDict) -> JSONDict:
    """A user's new message: stored, queued as a ``message`` update, returned as a view."""
    chat = _active_chat(state, user_id)
    chat.user.started = True
    keyboard = chat.reply_keyboard
    if keyboard and keyboard.get("one_time_keyboard"):
        chat.reply_keyboard = None
    stored = state.add_message(chat, from_bot=False, content=content)
    update_id = state.push_update("message", stored.data)
    return {"message": message_view(state, stored), "update_id": update_id}


def user_text_content(state: EmulatorState, chat: Chat, body: JSONDict) -> JSONDict:
    text = body.get("text")
    if not isinstance(text, str):
        raise ClientError(400, "text must be a string")
    text, _ = strip_text(text, [])
    if not text:
        raise ClientError(400, "text must not be empty")
    if len(text) > MAX_TEXT:
        raise ClientError(400, "text is longer than 4096 characters")
    content: JSONDict = {}
    reply_to = body.get("reply_to_message_id")
    if reply_to is not None:
        target = state.message(chat, int(reply_to))
        if target is None:
            raise ClientError(404, f"no message {reply_to} in chat {chat.id}")
        content["reply_to_message"] = {
            k: v for k, v in target.data.items() if k != "reply_to_message"
        }
    content["text"] = text
    entities = detect_entities(text)
    if entities:
        content["entities"] = entities
    return content


def _payload(body: JSONDict, default: bytes) -> bytes:
    raw = body.get("data_b64")
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ClientError(400, "data_b64 must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(400, "data_b64 is not valid base64") from None


def _caption(body: JSONDict) -> JSONDict:
    caption = body.get("caption")
    if not caption:
        return {}
    caption, _ = strip_text(str(caption), [])
    content: JSONDict = {"caption": caption}
    entities = detect_entities(caption)
    if entities:
        content["caption_entities"] = entities
    return content


def media_content(state: EmulatorState, kind: str, body: JSONDict) -> JSONDict:
    if kind == "photo":
        data = _payload(body, SAMPLE_PNG)
        if not data:
            raise ClientError(400, "the photo is empty")
        name = body.get("file_name")
        stored = store_photo(state, data, str(name) if name else None, strict=False)
        return {"photo": media_object(state, stored), **_caption(body)}
    if kind == "voice":
        data = _payload(body, SAMPLE_OGG)
        voice = state.store_file(
            "voice",
            data,
            mime_type=str(body.get("mime_type") or "audio/ogg"),
            extension="oga",
            duration=int(body.get("duration") or 1),
        )
        return {"voice": media_object(state, voice), **_caption(body)}
    if kind == "document":
        name = str(body.get("file_name") or "document.bin")
        data = _payload(body, b"")
        if not data:
            raise ClientError(400, "the document is empty")
        mime = str(body.get("mime_type") or guess_mime(name, "application/octet-stream"))
        document = state.store_file(
            "document",
            data,
            mime_type=mime,
            file_name=name,
            extension=extension(name, mime, "bin"),
        )
        return {"document": media_object(state, document), **_caption(body)}
    if kind == "sticker":
        emoji = str(body.get("emoji") or "👍")
        sticker = state.store_file(
            "sticker",
            _payload(body, SAMPLE_PNG),
            mime_type="image/png",
            extension="png",
            width=512,
            height=512,
        )
        sticker.extra = {"emoji": emoji, "set_name": "SandboxStickers"}
        return {"sticker": media_object(state, sticker)}
    raise ClientError(404, f"unknown media kind {kind}")


def user_presses(
    state: EmulatorState, user_id: int, message_id: int, data: str, *, forge: bool
) -> JSONDict:
    """A user presses an inline button: a ``callback_query`` update for the bot."""
    chat = _active_chat(state, user_id)
    stored = state.message(chat, message_id)
    if stored is None or not stored.from_bot:
        raise ClientError(404, f"no bot message {message_id} in chat {user_id}")
    offered = [button.get("callback_data") for row in stored.inline_keyboard for button in row]
    if not forge and data not in offered:
        raise ClientError(400, f"message {message_id} has no button with callback_data {data!r}")
    query_id = str(secrets.randbits(62))
    record = CallbackQueryRecord(
        id=query_id,
        user_id=user_id,
        chat_id=chat.id,
        message_id=message_id,
        data=data,
        date=state.now(),
    )
    state.callback_queries[query_id] = record
    stored.callback_ids.append(query_id)
    chat_instance = str((chat.id * 7919 + state.bot_id) % (2**63))
    query: JSONDict = {
        "id": query_id,
        "from": chat.user.to_telegram(),
        "message": stored.data,
        "chat_instance": chat_instance,
        "data": data,
    }
    update_id = state.push_update("callback_query", query)
    state.touch(chat)
    return {
        "callback_query_id": query_id,
        "update_id": update_id,
        "message": message_view(state, stored),
    }


def user_edits(state: EmulatorState, user_id: int, message_id: int, text: str) -> JSONDict:
    chat = _active_chat(state, user_id)
    stored = state.message(chat, message_id)
    if stored is None or stored.from_bot or "text" not in stored.data:
        raise ClientError(404, f"no text message {message_id} from user {user_id}")
    text, _ = strip_text(text, [])
    if not text:
        raise ClientError(400, "text must not be empty")
    new = {k: v for k, v in stored.data.items() if k not in ("text", "entities", "edit_date")}
    edited: JSONDict = {}
    for key, value in new.items():
        edited[key] = value
        if key == "date":
            edited["edit_date"] = state.now()
    edited["text"] = text
    entities = detect_entities(text)
    if entities:
        edited["entities"] = entities
    stored.data = edited
    stored.edit_count += 1
    update_id = state.push_update("edited_message", edited)
    state.touch(chat)
    return {"message": message_view(state, stored), "update_id": update_id}


def user_blocks(state: EmulatorState, user_id: int, blocked: bool) -> JSONDict:
    user = _user(state, user_id)
    if user.blocked == blocked:
        return {"user": user.to_json(), "update_id": None}
    user.blocked = blocked
    bot = state.bot_user()
    old, new = ("member", "kicked") if blocked else ("kicked", "member")

    def member(status: str) -> JSONDict:
        data: JSONDict = {"user": bot, "status": status}
        if status == "kicked":
            data["until_date"] = 0
        return data

    update_id = state.push_update(
        "my_chat_member",
        {
            "chat": user.chat(),
            "from": user.to_telegram(),
            "date": state.now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        },
    )
    state.touch(state.chats[user_id])
    return {"user": user.to_json(), "update_id": update_id}


# ------------------------------------------------------------------ HTTP layer

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "testserver"}


def is_loopback(request: Request) -> bool:
    """Only local clients, addressed by a local host name (no DNS rebinding)."""
    client = request.client
    if client is None:
        return False
    try:
        if not ipaddress.ip_address(client.host).is_loopback:
            return False
    except ValueError:
        if client.host != "testclient":
            return False
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
    return name in _LOCAL_HOSTS


async def _json_body(request: Request) -> JSONDict:
    if request.method in ("GET", "DELETE"):
        return {}
    raw = await request.body()
    if not raw:
        return {}
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        # Browsers cannot send JSON across origins without asking first.
        raise ClientError(415, "send application/json")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ClientError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ClientError(400, "the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ClientError(400, f"{name} must be an integer") from None


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ClientError(400, f"{name} must be a number") from None


Endpoint = Callable[[Request, JSONDict], Awaitable[Any]]


def _endpoint(fn: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        if not is_loopback(request):
            return JSONResponse({"ok": False, "error": "loopback clients only"}, status_code=403)
        try:
            body = await _json_body(request)
            result = await fn(request, body)
        except ClientError as exc:
            return JSONResponse({"ok": False, "error": exc.message}, status_code=exc.status)
        except ValueError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return handle


def watch_disconnect(request: Request) -> asyncio.Future[Any]:
    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    return asyncio.ensure_future(watch())


def client_routes(state: EmulatorState, info: Callable[[], JSONDict]) -> list[BaseRoute]:
    """Routes of the client API, bound to ``state``."""

    async def get_info(request: Request, body: JSONDict) -> Any:
        return info()

    async def list_users(request: Request, body: JSONDict) -> Any:
        if request.method == "POST":
            user = state.upsert_user(
                user_id=_int(body["id"], "id") if body.get("id") is not None else None,
                first_name=body.get("first_name"),
                last_name=body.get("last_name"),
                username=body.get("username"),
                language_code=body.get("language_code"),
                role=body.get("role"),
                started=body.get("started"),
            )
            return user.to_json()
        return {"users": [user.to_json() for user in state.users.values()]}

    async def get_user(request: Request, body: JSONDict) -> Any:
        return _user(state, _int(request.path_params["user_id"], "user_id")).to_json()

    async def user_commands(request: Request, body: JSONDict) -> Any:
        user = _user(state, _int(request.path_params["user_id"], "user_id"))
        return {"commands": state.commands_for_user(user)}

    async def user_action(request: Request, body: JSONDict) -> Any:
        user_id = _int(request.path_params["user_id"], "user_id")
        action = request.path_params["action"]
        if action == "text":
            chat = _active_chat(state, user_id)
            return user_sends(state, user_id, user_text_content(state, chat, body))
        if action == "command":
            chat = _active_chat(state, user_id)
            command = str(body.get("command") or "").strip().lstrip("/")
            if not command:
                raise ClientError(400, "command must not be empty")
            text = "/" + command
            if body.get("args"):
                text += " " + str(body["args"])
            return user_sends(state, user_id, user_text_content(state, chat, {"text": text}))
        if action in ("photo", "voice", "document", "sticker"):
            _active_chat(state, user_id)
            return user_sends(state, user_id, media_content(state, action, body))
        if action == "location":
            location = {
                "latitude": _float(body.get("latitude"), "latitude"),
                "longitude": _float(body.get("longitude"), "longitude"),
            }
            return user_sends(state, user_id, {"location": location})
        if action == "contact":
            user = _user(state, user_id)
            contact: JSONDict = {
                "phone_number": str(body.get("phone_number") or "+46701234567"),
                "first_name": str(body.get("first_name") or user.first_name),
            }
            last_name = body.get("last_name", user.last_name if body.get("own", True) else None)
            if last_name:
                contact["last_name"] = str(last_name)
            if body.get("own", True):
                contact["user_id"] = user.id
            return user_sends(state, user_id, {"contact": contact})
        if action == "edit":
            return user_edits(
                state,
                user_id,
                _int(body.get("message_id"), "message_id"),
                str(body.get("text", "")),
            )
        if action == "press":
            data = body.get("data")
            if not isinstance(data, str):
                raise ClientError(400, "data must be a string")
            return user_presses(
                state,
                user_id,
                _int(body.get("message_id"), "message_id"),
                data,
                forge=bool(body.get("forge", False)),
            )
        if action in ("block", "unblock"):
            return user_blocks(state, user_id, action == "block")
        raise ClientError(404, f"unknown action {action}")

    async def chat_messages(request: Request, body: JSONDict) -> Any:
        chat_id = _int(request.path_params["chat_id"], "chat_id")
        _user(state, chat_id)
        chat = state.chats[chat_id]
        query = request.query_params
        after = _int(query.get("after", 0), "after")
        since = _int(query["since_version"], "since_version") if "since_version" in query else None
        wait = min(max(_float(query.get("wait", 0), "wait"), 0.0), MAX_WAIT)

        def ready() -> bool:
            if since is not None:
                return chat.version > since
            return any(
                m.from_bot and m.message_id > after and not m.deleted
                for m in chat.messages.values()
            )

        if wait > 0 and ("after" in query or since is not None):
            watcher = watch_disconnect(request)
            try:
                await state.wait_for(ready, wait, watcher)
            finally:
                watcher.cancel()
        return chat_view(state, chat, after)

    async def chat_callbacks(request: Request, body: JSONDict) -> Any:
        chat_id = _int(request.path_params["chat_id"], "chat_id")
        _user(state, chat_id)
        wanted = request.query_params.get("callback_query_id")
        records = [
            r.to_json()
            for r in state.callback_queries.values()
            if r.chat_id == chat_id and (wanted is None or r.id == wanted)
        ]
        return {"callback_queries": records}

    async def get_file(request: Request, body: JSONDict) -> Any:
        stored = state.files.get(request.path_params["file_id"])
        if stored is None:
            raise ClientError(404, "unknown file_id")
        headers = {"Cache-Control": "no-store"}
        if stored.file_name:
            headers["Content-Disposition"] = f'inline; filename="{stored.file_name}"'
        media_type = stored.mime_type or "application/octet-stream"
        return Response(stored.data, media_type=media_type, headers=headers)

    async def faults(request: Request, body: JSONDict) -> Any:
        if request.method == "POST":
            fault = state.add_fault(
                method=body.get("method"),
                times=_int(body.get("times", 1), "times"),
                kind=body.get("kind", "error"),
                status=_int(body.get("status", 500), "status"),
                description=body.get("description"),
                retry_after=_int(body["retry_after"], "retry_after")
                if body.get("retry_after") is not None
                else None,
                delay=_float(body.get("delay", 0.0), "delay"),
                after_effect=bool(body.get("after_effect", False)),
            )
            return fault.to_json()
        if request.method == "DELETE":
            state.faults.clear()
        return {"faults": [fault.to_json() for fault in state.faults]}

    async def stats(request: Request, body: JSONDict) -> Any:
        return state.stats.to_json(len(state.updates))

    async def updates(request: Request, body: JSONDict) -> Any:
        hook = state.webhook
        return {
            "pending": [update.to_json() for update in state.updates],
            "webhook": {
                "url": hook.url,
                "has_secret_token": hook.secret_token is not None,
                "last_error_date": hook.last_error_date,
                "last_error_message": hook.last_error_message,
            },
        }

    async def reset(request: Request, body: JSONDict) -> Any:
        state.reset()
        return {"ok": True}

    def route(path: str, fn: Endpoint, methods: list[str]) -> Route:
        return Route("/sandbox" + path, _endpoint(fn), methods=methods)

    return [
        route("/info", get_info, ["GET"]),
        route("/users", list_users, ["GET", "POST"]),
        route("/users/{user_id}", get_user, ["GET"]),
        route("/users/{user_id}/commands", user_commands, ["GET"]),
        route("/users/{user_id}/{action}", user_action, ["POST"]),
        route("/chats/{chat_id}/messages", chat_messages, ["GET"]),
        route("/chats/{chat_id}/callbacks", chat_callbacks, ["GET"]),
        route("/files/{file_id}", get_file, ["GET"]),
        route("/faults", faults, ["GET", "POST", "DELETE"]),
        route("/stats", stats, ["GET"]),
        route("/updates", updates, ["GET"]),
        route("/reset", reset, ["POST"]),
    ]
