"""Message text as Telegram sees it: parse modes, entities, UTF-16 offsets.

Telegram measures entity offsets and lengths in UTF-16 code units, strips leading and
trailing whitespace from texts, and rejects malformed markup with
``Bad Request: can't parse entities: ...``. The parsers below follow the Bot API's rules
closely enough that a bot which works here will not trip over its own formatting on
Telegram: unsupported HTML tags, unclosed entities and unescaped MarkdownV2 characters
are errors, as they are there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


class EntityParseError(ValueError):
    """Markup the Bot API would refuse; the message is Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, Telegram's unit for entities."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates plain text and tracks its UTF-16 length."""

    parts: list[str] = field(default_factory=list)
    length16: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length16 += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    tag: str
    kind: str
    start: int
    byte_offset: int
    extra: JSONDict = field(default_factory=dict)


def _sorted(entities: list[JSONDict]) -> list[JSONDict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


# ---------------------------------------------------------------- HTML

_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
    "blockquote": "blockquote",
}
_ATTR_RE = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entities(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#"):
            try:
                code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
                return chr(code)
            except (ValueError, OverflowError):
                return match.group(0)
        return _NAMED.get(name, match.group(0))

    return _HTML_ENTITY_RE.sub(repl, text)


def _html_attrs(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        value = match.group(2) or ""
        if value[:1] in "\"'":
            value = value[1:-1]
        attrs[match.group(1).lower()] = _decode_html_entities(value)
    return attrs


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram's HTML subset into plain text and entities."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            end = source.find(">", i)
            if end == -1:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(source, i)}"
                )
            inner = source[i + 1 : end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise EntityParseError(
                        f'Unexpected end tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                top = stack.pop()
                if top.tag != name:
                    raise EntityParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(source, i)}, "
                        f'expected "</{top.tag}>", found "</{name}>"'
                    )
                _close_html(top, stack, out.length16, entities)
            else:
                match = re.match(r"([a-zA-Z][-a-zA-Z0-9]*)(.*)$", inner, re.S)
                name = match.group(1).lower() if match else inner.strip().split(" ")[0]
                if match is None or name not in _HTML_KINDS:
                    raise EntityParseError(
                        f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                attrs = _html_attrs(match.group(2))
                stack.append(_open_html(name, attrs, out.length16, _byte_offset(source, i), stack))
            i = end + 1
        elif char == "&":
            match = _HTML_ENTITY_RE.match(source, i)
            if match:
                decoded = _decode_html_entities(match.group(0))
                out.add(decoded)
                i = match.end()
            else:
                out.add("&")
                i += 1
        else:
            out.add(char)
            i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return out.text(), _sorted(entities)


def _open_html(
    name: str, attrs: dict[str, str], start: int, byte_offset: int, stack: list[_Open]
) -> _Open:
    kind = _HTML_KINDS[name]
    extra: JSONDict = {}
    if name == "a":
        href = attrs.get("href", "")
        kind = "text_link" if href else ""
        extra["url"] = href
    elif name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}'
            )
    elif name == "tg-emoji":
        extra["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif name == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    elif name == "code" and stack and stack[-1].tag == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].extra["language"] = language[len("language-") :]
        kind = ""  # a <code> directly inside <pre> only names the language
    return _Open(name, kind, start, byte_offset, extra)


def _close_html(top: _Open, stack: list[_Open], end: int, entities: list[JSONDict]) -> None:
    length = end - top.start
    if not top.kind or length <= 0:
        return
    entity: JSONDict = {"offset": top.start, "length": length, "type": top.kind}
    entity.update(top.extra)
    entities.append(entity)


# ---------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Parse MarkdownV2 into plain text and entities, with Telegram's escaping rules."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[JSONDict] = []
    quote_start: int | None = None
    i = 0
    n = len(source)
    at_line_start = True

    def close(kind: str) -> None:
        top = stack.pop()
        if out.length16 > top.start:
            entity: JSONDict = {"offset": top.start, "length": out.length16 - top.start}
            entity["type"] = kind
            entity.update(top.extra)
            entities.append(entity)

    while i < n:
        char = source[i]
        top = stack[-1] if stack else None
        in_code = top is not None and top.kind in ("code", "pre")
        if char == "\\":
            if i + 1 < n and 0 < ord(source[i + 1]) < 127:
                out.add(source[i + 1])
                i += 2
                at_line_start = False
                continue
            raise EntityParseError(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if in_code:
            assert top is not None
            if top.kind == "pre" and source.startswith("```", i):
                close("pre")
                i += 3
            elif top.kind == "code" and char == "`":
                close("code")
                i += 1
            else:
                out.add(char)
                i += 1
            continue
        if at_line_start and char == ">":
            if quote_start is None:
                quote_start = out.length16
            i += 1
            at_line_start = False
            continue
        if char == "\n":
            next_is_quote = i + 1 < n and source[i + 1] == ">"
            if quote_start is not None and not next_is_quote:
                if out.length16 > quote_start:
                    entities.append(
                        {
                            "offset": quote_start,
                            "length": out.length16 - quote_start,
                            "type": "blockquote",
                        }
                    )
                quote_start = None
            out.add(char)
            i += 1
            at_line_start = True
            continue
        at_line_start = False
        if char not in _MDV2_RESERVED:
            out.add(char)
            i += 1
            continue
        byte_offset = _byte_offset(source, i)
        if char == "`":
            if source.startswith("```", i):
                newline = source.find("\n", i + 3)
                language = source[i + 3 : newline] if newline != -1 else ""
                extra: JSONDict = {"language": language.strip()} if language.strip() else {}
                if newline != -1 and re.fullmatch(r"[A-Za-z0-9_+#.-]*", language.strip()):
                    i = newline + 1
                else:
                    extra = {}
                    i += 3
                stack.append(_Open("```", "pre", out.length16, byte_offset, extra))
            else:
                stack.append(_Open("`", "code", out.length16, byte_offset))
                i += 1
            continue
        marker, kind = _mdv2_marker(source, i)
        if kind:
            if top is not None and top.tag == marker:
                close(kind)
            else:
                stack.append(_Open(marker, kind, out.length16, byte_offset))
            i += len(marker)
            continue
        if char == "!" and i + 1 < n and source[i + 1] == "[":
            stack.append(_Open("[", "custom_emoji", out.length16, byte_offset))
            i += 2
            continue
        if char == "[":
            stack.append(_Open("[", "text_link", out.length16, byte_offset))
            i += 1
            continue
        if char == "]" and top is not None and top.tag == "[":
            if i + 1 < n and source[i + 1] == "(":
                url, i = _mdv2_url(source, i + 2)
                if top.kind == "custom_emoji":
                    match = re.match(r"tg://emoji\?id=(\d+)$", url)
                    top.extra["custom_emoji_id"] = match.group(1) if match else ""
                else:
                    top.extra["url"] = url
                close(top.kind)
                continue
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
            )
        raise EntityParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )
    if stack:
        top = stack[-1]
        name = _MDV2_NAMES.get(top.kind, top.kind)
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {top.byte_offset}")
    if quote_start is not None and out.length16 > quote_start:
        entities.append(
            {"offset": quote_start, "length": out.length16 - quote_start, "type": "blockquote"}
        )
    return out.text(), _sorted(entities)


def _mdv2_marker(source: str, i: int) -> tuple[str, str]:
    char = source[i]
    if char == "*":
        return "*", "bold"
    if char == "_":
        if source.startswith("__", i):
            return "__", "underline"
        return "_", "italic"
    if char == "~":
        return "~", "strikethrough"
    if char == "|" and source.startswith("||", i):
        return "||", "spoiler"
    return "", ""


def _mdv2_url(source: str, i: int) -> tuple[str, int]:
    url: list[str] = []
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            url.append(source[i + 1])
            i += 2
            continue
        if char == ")":
            return "".join(url), i + 1
        url.append(char)
        i += 1
    raise EntityParseError("Can't find end of a URL at byte offset " + str(_byte_offset(source, i)))


# ---------------------------------------------------------------- legacy Markdown


def parse_markdown(source: str) -> tuple[str, list[JSONDict]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    entities: list[JSONDict] = []
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        byte_offset = _byte_offset(source, i)
        start = out.length16
        if char == "[":
            close = source.find("]", i + 1)
            if close == -1 or not source.startswith("(", close + 1):
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {byte_offset}"
                )
            url_end = source.find(")", close + 2)
            if url_end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {byte_offset}"
                )
            out.add(source[i + 1 : close])
            if out.length16 > start:
                entities.append(
                    {
                        "offset": start,
                        "length": out.length16 - start,
                        "type": "text_link",
                        "url": source[close + 2 : url_end],
                    }
                )
            i = url_end + 1
            continue
        marker = "```" if source.startswith("```", i) else char
        close = source.find(marker, i + len(marker))
        if close == -1:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset}"
            )
        body = source[i + len(marker) : close]
        entity: JSONDict = {}
        if marker == "```":
            first, sep, rest = body.partition("\n")
            if sep and first and re.fullmatch(r"[A-Za-z0-9_+#.-]+", first):
                entity["language"] = first
                body = rest
        out.add(body)
        kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[marker]
        if out.length16 > start:
            entities.append(
                {"offset": start, "length": out.length16 - start, "type": kind, **entity}
            )
        i = close + len(marker)
    return out.text(), _sorted(entities)


# ---------------------------------------------------------------- helpers


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` (HTML, MarkdownV2, Markdown, case-insensitive) to ``text``.

    Raises :class:`EntityParseError` for malformed markup and :class:`ValueError`
    (with Telegram's message) for an unknown parse mode.
    """
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError("unsupported parse_mode")


def strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead16 = utf16_len(text[: len(text) - len(text.lstrip())])
    total16 = utf16_len(stripped)
    result: list[JSONDict] = []
    for entity in entities:
        start = max(entity["offset"] - lead16, 0)
        end = min(entity["offset"] + entity["length"] - lead16, total16)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z][A-Za-z0-9_]{3,31})?(?![\w/])")
_URL_RE = re.compile(r"(?<![\w@])(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?!\w)")
_HASHTAG_RE = re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")


def detect_entities(text: str) -> list[JSONDict]:
    """Entities Telegram's clients attach to a typed text: commands, links, mentions."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in (
        ("email", _EMAIL_RE),
        ("url", _URL_RE),
        ("bot_command", _COMMAND_RE),
        ("mention", _MENTION_RE),
        ("hashtag", _HASHTAG_RE),
    ):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append((start, end, kind))
    entities = [
        {"offset": utf16_len(text[:start]), "length": utf16_len(text[start:end]), "type": kind}
        for start, end, kind in found
    ]
    return _sorted(entities)


_EXCLUSIVE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def with_detected_entities(text: str, entities: list[JSONDict]) -> list[JSONDict]:
    """Add the commands, links and mentions Telegram finds in any text it stores,
    except where explicit code, pre or link entities already cover the span."""
    exclusive = [
        (e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _EXCLUSIVE
    ]
    present = {(e["offset"], e["length"], e["type"]) for e in entities}
    merged = list(entities)
    for entity in detect_entities(text):
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if any(start < x_end and x_start < end for x_start, x_end in exclusive):
            continue
        if (entity["offset"], entity["length"], entity["type"]) not in present:
            merged.append(entity)
    return _sorted(merged)
