"""Parse modes and entities, measured in UTF-16 code units as Telegram does."""

from __future__ import annotations

import pytest

from bot.sandbox.formatting import (
    EntityParseError,
    detect_entities,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    strip_text,
    utf16_len,
    with_detected_entities,
)


def test_html_entities_and_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>fet <i>och</i></b> <a href="https://x.se/?a=1&amp;b=2">länk</a>'
    )
    assert text == "😀 fet och länk"
    assert entities == [
        {"offset": 3, "length": 7, "type": "bold"},
        {"offset": 7, "length": 3, "type": "italic"},
        {"offset": 11, "length": 4, "type": "text_link", "url": "https://x.se/?a=1&b=2"},
    ]
    assert utf16_len("😀") == 2


def test_html_pre_with_language_and_escapes() -> None:
    text, entities = parse_html('<pre><code class="language-python">x &lt; 1</code></pre>')
    assert text == "x < 1"
    assert entities == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a <br> b", 'Unsupported start tag "br" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("3 <4", "Unclosed start tag"),
    ],
)
def test_html_errors_like_telegram(source: str, message: str) -> None:
    with pytest.raises(EntityParseError, match=message):
        parse_html(source)


def test_markdown_v2_entities_and_reserved_characters() -> None:
    text, entities = parse_markdown_v2(r"*Hej* _du_ \- klockan är 10\.00 [här](https://x.se)")
    assert text == "Hej du - klockan är 10.00 här"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Klockan är 10.00")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*fet")


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*fet* och `kod` 10.00")
    assert text == "fet och kod 10.00"
    assert [e["type"] for e in entities] == ["bold", "code"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity"):
        parse_markdown("snake_case")


def test_strip_keeps_entities_aligned() -> None:
    text, entities = strip_text("\n  hej  \n", [{"offset": 3, "length": 3, "type": "bold"}])
    assert text == "hej"
    assert entities == [{"offset": 0, "length": 3, "type": "bold"}]


def test_detect_command_entities() -> None:
    assert detect_entities("/start ABC123") == [{"offset": 0, "length": 6, "type": "bot_command"}]
    entities = detect_entities("🙂 /help@stegvis_bot och https://x.se")
    assert {"offset": 3, "length": 17, "type": "bot_command"} in entities
    assert any(e["type"] == "url" for e in entities)
    assert detect_entities("a/b 1/2") == []


def test_detected_entities_merge_with_markup() -> None:
    text, entities = parse_html("<b>Boka</b> /help <code>/not_a_command</code>")
    merged = with_detected_entities(text, entities)
    assert [e["type"] for e in merged] == ["bold", "bot_command", "code"]
