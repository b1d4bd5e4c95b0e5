"""Logs carry ids, never content: a marker in names, messages and buttons appears in no line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.cli import setup_logging
from tests.e2e.harness import Stack

MARKER = "Qx7Marker"


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Everything]:
    setup_logging("INFO")  # the levels a deployment runs with
    handler = Everything()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def test_no_log_line_holds_what_people_wrote_or_are_called(
    stack: Stack, captured: Everything
) -> None:
    await stack.cohort()
    mentor_id = await stack.mentor(name=f"Amina {MARKER}", telegram_user_id=7001)
    await stack.person(7001, f"Amina{MARKER}")
    code = await stack.invite(mentor_id=mentor_id)
    sara = await stack.person(701, f"Sara{MARKER}", "sv")
    await sara.command("start", code)
    await sara.press("Svenska")
    await sara.say(f"hej {MARKER} jag har en fråga")
    await sara.expect("Välj en av knapparna.")
    await sara.press("Ja, jag godkänner")
    await sara.expect("Välkommen")
    await sara.say(f"min hyresvärd {MARKER} vill vräka mig")
    await sara.command("fika", MARKER)
    await sara.expect("Det kommandot känner jag inte till.")
    press = await sara.forge(f"onb:lang:{MARKER}")
    await sara.expect_answer(press)
    await sara.command("start", f"X{MARKER}")
    await sara.expect("Du är redan med i projektet")

    assert captured.lines, "the flows above log what they do"
    leaked = [line for line in captured.lines if MARKER.lower() in line.lower()]
    assert leaked == []
