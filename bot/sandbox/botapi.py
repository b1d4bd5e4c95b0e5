"""The Bot API methods the emulator answers, in Telegram's shapes and with its errors."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import telegram

from bot.sandbox.formatting import (
    EntityParseError,
    parse_text,
    strip_text,
    with_detected_entities,
)
from bot.sandbox.media import extension, guess_mime, image_size
from bot.sandbox.state import (
    ApiError,
    CallbackAnswer,
    Chat,
    EmulatorState,
    FileKind,
    JSONDict,
    StoredFile,
    StoredMessage,
    bad_request,
    scope_key,
    too_many_requests,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_KEYBOARD_BUTTON_FIELDS = (
    "request_users",
    "request_chat",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)
_COPYABLE = (
    "text",
    "entities",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "sticker",
    "location",
    "contact",
    "caption",
    "caption_entities",
)
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Request parameters from the query string and a form, multipart or JSON body.

    Form values arrive as strings (python-telegram-bot JSON-encodes complex values into
    them); JSON bodies carry native values. Accessors accept both, as Telegram does.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, Upload):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def integer(self, name: str, error: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(error or f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def boolean(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        return isinstance(value, str) and value.strip().lower() in ("true", "1", "yes")

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(error) from None
        if isinstance(value, Upload):
            raise bad_request(error)
        return value

    def chat_id(self, name: str = "chat_id") -> int:
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            # "@username" works for public channels and groups, never for private chats.
            raise bad_request("chat not found") from None

    def message_id(self, name: str = "message_id") -> int:
        value = self.integer(name, "message identifier is not specified")
        if value is None:
            raise bad_request("message identifier is not specified")
        return value


class Described:
    """A result that Telegram answers together with a ``description``."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


@dataclass
class Call:
    state: EmulatorState
    method: str
    params: Params
    disconnected: asyncio.Future[Any] | None = None


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register


def resolve_method(name: str) -> tuple[str, Handler] | None:
    """Telegram method names are case-insensitive."""
    return METHODS.get(name.lower())


def _bot_api_methods() -> frozenset[str]:
    # python-telegram-bot defines a camelCase alias for every Bot API method.
    return frozenset(
        name.lower()
        for name in dir(telegram.Bot)
        if name[:1].islower() and name != name.lower() and callable(getattr(telegram.Bot, name))
    )


BOT_API_METHODS = _bot_api_methods()


def not_emulated(name: str) -> ApiError | None:
    """A real Bot API method the sandbox does not emulate gets a clear 400, not the 404
    that python-telegram-bot would report as an invalid token."""
    if name.lower() in BOT_API_METHODS:
        return bad_request(f"the sandbox does not emulate {name}")
    return None


# ------------------------------------------------------------------ shared pieces


def check_rate(state: EmulatorState, chat: Chat) -> None:
    wait = state.limiter.check(chat.id)
    if wait is not None:
        state.stats.too_many_requests += 1
        raise too_many_requests(wait)


def parse_formatted(
    params: Params,
    field: str,
    *,
    entities_field: str,
    limit: int,
    too_long: str,
) -> tuple[str, list[JSONDict]]:
    raw = params.text(field) or ""
    entities = params.json(entities_field, f"can't parse {entities_field} JSON object")
    if entities is not None:
        if not isinstance(entities, list) or not all(
            isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities
        ):
            raise bad_request(f"can't parse {entities_field} JSON object")
        text, parsed = raw, [dict(e) for e in entities]
    else:
        try:
            text, parsed = parse_text(raw, params.text("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        except ValueError:
            raise bad_request("unsupported parse_mode") from None
        parsed = with_detected_entities(text, parsed)
    text, parsed = strip_text(text, parsed)
    if len(text) > limit:
        raise bad_request(too_long)
    return text, parsed


def text_content(params: Params) -> JSONDict:
    text, entities = parse_formatted(
        params, "text", entities_field="entities", limit=MAX_TEXT, too_long="message is too long"
    )
    if not text:
        raise bad_request("message text is empty")
    content: JSONDict = {"text": text}
    if entities:
        content["entities"] = entities
    return content


def caption_content(params: Params) -> JSONDict:
    if params.raw("caption") is None:
        return {}
    caption, entities = parse_formatted(
        params,
        "caption",
        entities_field="caption_entities",
        limit=MAX_CAPTION,
        too_long="message caption is too long",
    )
    content: JSONDict = {}
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    return content


def _markup_error() -> ApiError:
    return bad_request("can't parse reply keyboard markup JSON object")


def _button_error(reason: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {reason}")


def parse_reply_markup(params: Params) -> tuple[JSONDict | None, JSONDict | None]:
    """Validate ``reply_markup``: (inline keyboard echoed on the message, other markup)."""
    markup = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise _markup_error()
    if "inline_keyboard" in markup:
        return {"inline_keyboard": validate_inline_keyboard(markup["inline_keyboard"])}, None
    if "keyboard" in markup:
        return None, validate_reply_keyboard(markup)
    if markup.get("remove_keyboard") is True:
        return None, {"remove_keyboard": True}
    if markup.get("force_reply") is True:
        forced: JSONDict = {"force_reply": True}
        if isinstance(markup.get("input_field_placeholder"), str):
            forced["input_field_placeholder"] = markup["input_field_placeholder"]
        return None, forced
    raise _markup_error()


def validate_inline_keyboard(rows: Any) -> list[list[JSONDict]]:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    result: list[list[JSONDict]] = []
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        result.append([_validate_inline_button(button) for button in row])
    return result


def _validate_inline_button(button: Any) -> JSONDict:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error("exactly one of the optional fields must be used")
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        if not isinstance(value, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        if not isinstance(value, str):
            raise _button_error('Field "url" must be of type String')
        if not value.strip() or any(c.isspace() for c in value):
            raise bad_request("BUTTON_URL_INVALID")
    cleaned: JSONDict = {"text": text, action: value}
    if isinstance(button.get("style"), str):
        cleaned["style"] = button["style"]
    return cleaned


def validate_reply_keyboard(markup: JSONDict) -> JSONDict:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    result: list[list[JSONDict]] = []
    for row in rows:
        buttons: list[JSONDict] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    "can't parse keyboard button: KeyboardButton must be a String or an Object"
                )
            if not button["text"].strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            kept = {"text": button["text"]}
            kept.update({k: button[k] for k in _KEYBOARD_BUTTON_FIELDS if button.get(k)})
            buttons.append(kept)
        result.append(buttons)
    keyboard: JSONDict = {"keyboard": result}
    for option in ("is_persistent", "resize_keyboard", "one_time_keyboard", "selective"):
        if markup.get(option) is True:
            keyboard[option] = True
    if isinstance(markup.get("input_field_placeholder"), str):
        keyboard["input_field_placeholder"] = markup["input_field_placeholder"]
    return keyboard


def reply_content(state: EmulatorState, chat: Chat, params: Params) -> JSONDict:
    """``reply_to_message`` from ``reply_parameters`` (or the older ``reply_to_message_id``)."""
    reply = params.json("reply_parameters", "can't parse reply parameters JSON object")
    allow_missing = params.boolean("allow_sending_without_reply")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
    elif reply is not None:
        raise bad_request("can't parse reply parameters JSON object")
    else:
        message_id = params.integer("reply_to_message_id")
    if message_id is None:
        return {}
    target = state.message(chat, int(message_id))
    if target is None:
        if allow_missing:
            return {}
        raise bad_request("message to be replied not found")
    quoted = {k: v for k, v in target.data.items() if k != "reply_to_message"}
    return {"reply_to_message": quoted}


def apply_keyboard(chat: Chat, other: JSONDict | None) -> None:
    if other is None:
        return
    if "keyboard" in other:
        chat.reply_keyboard = other
    elif other.get("remove_keyboard"):
        chat.reply_keyboard = None


def send(
    call: Call,
    chat: Chat,
    content: JSONDict,
    inline: JSONDict | None,
    other: JSONDict | None,
) -> JSONDict:
    """Rate-check, then store a bot message and return it as Telegram does."""
    state = call.state
    check_rate(state, chat)
    full: JSONDict = {}
    full.update(reply_content(state, chat, call.params))
    full.update(content)
    if call.params.boolean("protect_content"):
        full["has_protected_content"] = True
    if inline is not None:
        full["reply_markup"] = inline
    apply_keyboard(chat, other)
    stored = state.add_message(chat, from_bot=True, content=full, reply_keyboard=other)
    return stored.data


# ------------------------------------------------------------------ files


def media_object(state: EmulatorState, stored: StoredFile) -> Any:
    """The Telegram value for a message's media field (a PhotoSize list for photos)."""
    if stored.kind == "photo":
        largest = state.files[stored.parent] if stored.parent else stored
        ids = largest.sizes or [largest.file_id]
        return [state.files[file_id].to_telegram() for file_id in ids]
    data = stored.to_telegram()
    if stored.kind == "sticker":
        data = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": stored.width or 512,
            "height": stored.height or 512,
            "is_animated": False,
            "is_video": False,
            **stored.extra,
            "file_size": stored.file_size,
        }
    return data


def store_photo(
    state: EmulatorState, data: bytes, file_name: str | None, *, strict: bool
) -> StoredFile:
    """Store a photo with Telegram-like size variants; the largest is returned."""
    size = image_size(data)
    if size is None:
        if strict:
            raise bad_request("IMAGE_PROCESS_FAILED")
        size = (320, 320)
    width, height = size
    largest = state.store_file(
        "photo",
        data,
        mime_type="image/jpeg",
        file_name=file_name,
        extension="jpg",
        width=width,
        height=height,
    )
    sizes: list[str] = []
    longest = max(width, height, 1)
    for bound in (90, 320, 800):
        if longest > bound:
            scale = bound / longest
            small = state.store_file(
                "photo",
                data,
                mime_type="image/jpeg",
                extension="jpg",
                width=max(1, round(width * scale)),
                height=max(1, round(height * scale)),
            )
            small.parent = largest.file_id
            sizes.append(small.file_id)
    sizes.append(largest.file_id)
    largest.sizes = sizes
    return largest


def store_upload(
    state: EmulatorState, kind: FileKind, upload: Upload, params: Params, *, strict: bool = True
) -> StoredFile:
    if not upload.data:
        raise bad_request("file must be non-empty")
    if len(upload.data) > MAX_UPLOAD:
        raise ApiError(413, "Request Entity Too Large")
    name = upload.filename if upload.filename and upload.filename != kind else None
    if kind == "photo":
        return store_photo(state, upload.data, name, strict=strict)
    defaults = {
        "document": "application/octet-stream",
        "voice": "audio/ogg",
        "audio": "audio/mpeg",
        "video": "video/mp4",
        "sticker": "image/webp",
    }
    content_type = upload.content_type
    if not content_type or content_type == "application/octet-stream":
        content_type = guess_mime(name, defaults[kind])
    ext = extension(name, content_type, {"voice": "oga", "sticker": "webp"}.get(kind, "bin"))
    size = image_size(upload.data) if kind in ("video", "sticker") else None
    width = params.integer("width") or (size[0] if size else None)
    height = params.integer("height") or (size[1] if size else None)
    return state.store_file(
        kind,
        upload.data,
        mime_type=content_type,
        file_name=name if kind in ("document", "audio", "video") else None,
        extension=ext,
        width=width,
        height=height,
        duration=params.integer("duration") or (1 if kind in ("voice", "audio", "video") else None),
    )


def input_file(call: Call, kind: FileKind, value: Any = None) -> StoredFile:
    """The file for ``kind`` in this call (or ``value``): a new upload or a file_id."""
    params = call.params
    if value is None:
        value = params.raw(kind)
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.raw(value[len("attach://") :])
    if isinstance(value, Upload):
        return store_upload(call.state, kind, value, params)
    if not isinstance(value, str) or not value:
        raise bad_request(f"there is no {kind} in the request")
    existing = call.state.files.get(value)
    if existing is None:
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")
    if existing.kind != kind:
        raise bad_request(
            f"can't use file of type {existing.kind.capitalize()} as {kind.capitalize()}"
        )
    return existing


# ------------------------------------------------------------------ methods


@method("getMe")
async def get_me(call: Call) -> Any:
    return call.state.get_me()


@method("logOut")
async def log_out(call: Call) -> Any:
    return True


@method("close")
async def close(call: Call) -> Any:
    return True


@method("getUpdates")
async def get_updates(call: Call) -> Any:
    state, params = call.state, call.params
    if state.webhook.url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = params.integer("offset")
    limit = params.integer("limit") or 100
    limit = min(max(limit, 1), 100)
    timeout = max(params.integer("timeout") or 0, 0)
    allowed = params.json("allowed_updates", "can't parse allowed updates")
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed updates")
        state.set_allowed_updates(allowed)
    if offset is not None:
        state.confirm_updates(offset)
    # A newer getUpdates ends an older one that is still waiting, as on Telegram.
    state.poll_generation += 1
    generation = state.poll_generation
    state.notify()

    def ready() -> bool:
        return bool(state.updates) or state.poll_generation != generation or bool(state.webhook.url)

    if timeout > 0:
        await state.wait_for(ready, timeout, call.disconnected)
    if state.poll_generation != generation:
        raise ApiError(
            409,
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running",
        )
    if state.webhook.url:
        return []
    return [update.to_json() for update in state.updates[:limit]]


@method("setWebhook")
async def set_webhook(call: Call) -> Any:
    state, params = call.state, call.params
    url = (params.text("url") or "").strip()
    if not url:
        return await delete_webhook(call)
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = params.json("allowed_updates", "can't parse allowed updates")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates")
        state.set_allowed_updates([str(a) for a in allowed])
    if params.boolean("drop_pending_updates"):
        state.updates.clear()
    same = state.webhook.url == url and state.webhook.secret_token == secret
    state.webhook.url = url
    state.webhook.secret_token = secret
    state.webhook.max_connections = params.integer("max_connections") or 40
    state.webhook.last_error_date = None
    state.webhook.last_error_message = None
    if not same:
        state.webhook.generation += 1
    state.poll_generation += 1
    state.notify()
    return Described(True, "Webhook is already set" if same else "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Any:
    state = call.state
    if call.params.boolean("drop_pending_updates"):
        state.updates.clear()
    was_set = bool(state.webhook.url)
    state.webhook.url = ""
    state.webhook.secret_token = None
    state.webhook.generation += 1
    state.notify()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> Any:
    state = call.state
    hook = state.webhook
    info: JSONDict = {
        "url": hook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        info["ip_address"] = "127.0.0.1"
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if state.allowed_updates_list:
            info["allowed_updates"] = state.allowed_updates_list
    return info


@method("sendMessage")
async def send_message(call: Call) -> Any:
    chat = call.state.writable_chat(call.params.chat_id())
    content = text_content(call.params)
    inline, other = parse_reply_markup(call.params)
    return send(call, chat, content, inline, other)


def _media_method(kind: FileKind) -> Handler:
    async def handler(call: Call) -> Any:
        params = call.params
        chat = call.state.writable_chat(params.chat_id())
        caption = caption_content(params) if kind != "sticker" else {}
        inline, other = parse_reply_markup(params)
        stored = input_file(call, kind)
        content: JSONDict = {kind: media_object(call.state, stored)}
        if kind == "sticker" and params.text("emoji"):
            content[kind]["emoji"] = params.text("emoji")
        if kind == "audio":
            for name in ("performer", "title"):
                if params.text(name):
                    content[kind][name] = params.text(name)
        content.update(caption)
        return send(call, chat, content, inline, other)

    return handler


_MEDIA_METHODS: tuple[tuple[FileKind, str], ...] = (
    ("photo", "sendPhoto"),
    ("document", "sendDocument"),
    ("voice", "sendVoice"),
    ("audio", "sendAudio"),
    ("video", "sendVideo"),
    ("sticker", "sendSticker"),
)
for _kind, _name in _MEDIA_METHODS:
    method(_name)(_media_method(_kind))


_GROUPABLE: dict[str, FileKind] = {
    "photo": "photo",
    "video": "video",
    "document": "document",
    "audio": "audio",
}


@method("sendMediaGroup")
async def send_media_group(call: Call) -> Any:
    state, params = call.state, call.params
    chat = state.writable_chat(params.chat_id())
    items = params.json("media", "can't parse media JSON object")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_request("can't parse media JSON object")
    if not 2 <= len(items) <= 10:
        raise bad_request("wrong number of media in the album: must be 2-10")
    kinds = {str(item.get("type")) for item in items}
    if not kinds <= _GROUPABLE.keys():
        raise bad_request(f"unsupported media type in the album: {sorted(kinds)}")
    for solo in ("document", "audio"):
        if solo in kinds and len(kinds) > 1:
            raise bad_request(f"{solo} can't be mixed with other media types")
    contents: list[JSONDict] = []
    for item in items:
        kind = _GROUPABLE[str(item["type"])]
        stored = input_file(call, kind, item.get("media") or "")
        caption = caption_content(Params({k: v for k, v in item.items() if k != "media"}))
        contents.append({kind: media_object(state, stored), **caption})
    group_id = str(secrets.randbits(60))
    messages = []
    for content in contents:
        content["media_group_id"] = group_id
        messages.append(send(call, chat, content, None, None))
    return messages


@method("getChat")
async def get_chat(call: Call) -> Any:
    chat = call.state.chat(call.params.chat_id())
    return {
        **chat.user.chat(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@method("sendLocation")
async def send_location(call: Call) -> Any:
    params = call.params
    chat = call.state.writable_chat(params.chat_id())
    latitude, longitude = params.number("latitude"), params.number("longitude")
    if latitude is None or longitude is None:
        raise bad_request("wrong latitude or longitude specified")
    inline, other = parse_reply_markup(params)
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return send(call, chat, content, inline, other)


@method("sendContact")
async def send_contact(call: Call) -> Any:
    params = call.params
    chat = call.state.writable_chat(params.chat_id())
    phone, first = params.text("phone_number"), params.text("first_name")
    if not phone or not first:
        raise bad_request("phone number and first name must be non-empty")
    contact: JSONDict = {"phone_number": phone, "first_name": first}
    if params.text("last_name"):
        contact["last_name"] = params.text("last_name")
    inline, other = parse_reply_markup(params)
    return send(call, chat, {"contact": contact}, inline, other)


def _source_message(call: Call, missing: str) -> StoredMessage:
    state, params = call.state, call.params
    source_chat = state.chat(params.chat_id("from_chat_id"))
    source = state.message(source_chat, params.message_id())
    if source is None:
        raise bad_request(missing)
    return source


@method("copyMessage")
async def copy_message(call: Call) -> Any:
    params = call.params
    source = _source_message(call, "message to copy not found")
    chat = call.state.writable_chat(params.chat_id())
    content = {k: v for k, v in source.data.items() if k in _COPYABLE}
    if not content:
        raise bad_request("message can't be copied")
    if params.raw("caption") is not None and "text" not in content:
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(caption_content(params))
    inline, other = parse_reply_markup(params)
    data = send(call, chat, content, inline, other)
    return {"message_id": data["message_id"]}


@method("forwardMessage")
async def forward_message(call: Call) -> Any:
    params = call.params
    source = _source_message(call, "message to forward not found")
    chat = call.state.writable_chat(params.chat_id())
    content = {k: v for k, v in source.data.items() if k in _COPYABLE}
    content["forward_origin"] = {
        "type": "user",
        "sender_user": source.data["from"],
        "date": source.data["date"],
    }
    return send(call, chat, content, None, None)


@method("sendChatAction")
async def send_chat_action(call: Call) -> Any:
    state, params = call.state, call.params
    chat = state.writable_chat(params.chat_id())
    action = params.text("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.action = action
    chat.action_until = state.monotonic() + 5.0
    state.touch(chat)
    return True


def _editable(
    call: Call, *, missing: str = "message to edit not found"
) -> tuple[Chat, StoredMessage]:
    state, params = call.state, call.params
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.chat(params.chat_id())
    if chat.user.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    stored = state.message(chat, params.message_id())
    if stored is None:
        raise bad_request(missing)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return chat, stored


def _apply_edit(
    call: Call, chat: Chat, stored: StoredMessage, changes: JSONDict, drop: tuple[str, ...]
) -> JSONDict:
    inline, other = parse_reply_markup(call.params)
    if other is not None:
        raise bad_request("inline keyboard expected")
    new = {k: v for k, v in stored.data.items() if k not in drop and k != "reply_markup"}
    new.update(changes)
    if inline is not None:
        new["reply_markup"] = inline
    compare = ("text", "entities", "caption", "caption_entities", "reply_markup")
    if all(new.get(k) == stored.data.get(k) for k in compare):
        raise bad_request(NOT_MODIFIED)
    ordered: JSONDict = {}
    for key, value in new.items():
        if key == "edit_date":
            continue
        ordered[key] = value
        if key == "date":
            ordered["edit_date"] = call.state.now()
    stored.data = ordered
    stored.edit_count += 1
    call.state.touch(chat)
    return ordered


@method("editMessageText")
async def edit_message_text(call: Call) -> Any:
    chat, stored = _editable(call)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    content = text_content(call.params)
    return _apply_edit(call, chat, stored, content, ("text", "entities"))


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> Any:
    chat, stored = _editable(call)
    if "text" in stored.data:
        raise bad_request("there is no caption in the message to edit")
    content = caption_content(call.params)
    return _apply_edit(call, chat, stored, content, ("caption", "caption_entities"))


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> Any:
    chat, stored = _editable(call)
    return _apply_edit(call, chat, stored, {}, ())


@method("deleteMessage")
async def delete_message(call: Call) -> Any:
    state, params = call.state, call.params
    chat = state.chat(params.chat_id())
    stored = state.message(chat, params.message_id())
    if stored is None:
        raise bad_request("message to delete not found")
    stored.deleted = True
    state.touch(chat)
    return True


@method("deleteMessages")
async def delete_messages(call: Call) -> Any:
    state, params = call.state, call.params
    chat = state.chat(params.chat_id())
    ids = params.json("message_ids", "can't parse message identifiers")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message identifiers are not specified")
    for message_id in ids:
        stored = state.message(chat, int(message_id))
        if stored is not None:
            stored.deleted = True
    state.touch(chat)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> Any:
    state, params = call.state, call.params
    query_id = params.text("callback_query_id") or ""
    record = state.callback_queries.get(query_id)
    if record is None or record.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = CallbackAnswer(
        callback_query_id=query_id,
        text=text or None,
        show_alert=params.boolean("show_alert"),
        url=params.text("url") or None,
        cache_time=params.integer("cache_time") or 0,
        date=state.now(),
    )
    chat = state.chats.get(record.chat_id)
    if chat is not None:
        state.touch(chat)
    else:
        state.notify()
    return True


@method("getFile")
async def get_file(call: Call) -> Any:
    file_id = call.params.text("file_id") or ""
    stored = call.state.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


def _commands_key(params: Params) -> tuple[str, str]:
    scope = params.json("scope", "can't parse BotCommandScope JSON object")
    if scope is not None and (not isinstance(scope, dict) or "type" not in scope):
        raise bad_request("can't parse BotCommandScope JSON object")
    return scope_key(scope), params.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(call: Call) -> Any:
    params = call.params
    commands = params.json("commands", "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands")
    cleaned: list[JSONDict] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = str(command.get("command", "")).lstrip("/")
        description = str(command.get("description", ""))
        if not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    key = _commands_key(params)
    if cleaned:
        call.state.commands[key] = cleaned
    else:
        call.state.commands.pop(key, None)
    call.state.notify()
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> Any:
    return call.state.commands.get(_commands_key(call.params), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> Any:
    call.state.commands.pop(_commands_key(call.params), None)
    call.state.notify()
    return True


def _profile_methods(field: str, setter: str, getter: str, limit: int) -> None:
    async def set_value(call: Call) -> Any:
        value = call.params.text(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        key = (field, call.params.text("language_code") or "")
        if value:
            call.state.profile[key] = value
        else:
            call.state.profile.pop(key, None)
        return True

    async def get_value(call: Call) -> Any:
        language = call.params.text("language_code") or ""
        profile = call.state.profile
        return {field: profile.get((field, language), profile.get((field, ""), ""))}

    method(setter)(set_value)
    method(getter)(get_value)


_profile_methods("name", "setMyName", "getMyName", 64)
_profile_methods("description", "setMyDescription", "getMyDescription", 512)
_profile_methods("short_description", "setMyShortDescription", "getMyShortDescription", 120)


@method("setChatMenuButton")
async def set_chat_menu_button(call: Call) -> Any:
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(call: Call) -> Any:
    return {"type": "commands"}
