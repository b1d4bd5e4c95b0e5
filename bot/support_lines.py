"""Where to turn now: the support lines a participant is shown, read from a data file.

Numbers and services change, so they live in `bot/data/support_lines.toml`, which staff
may edit, never in code. Each line carries its own text in every language the bot
speaks: the file is checked when it is read, so a missing translation stops the start
rather than leaving a participant in danger with a line they cannot read.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config import SUPPORTED_LOCALES

DEFAULT_PATH = Path(__file__).parent / "data" / "support_lines.toml"
TOPICS = ("housing", "debt", "violence", "health", "other")
URGENT_SUFFIX = "+urgent"


class SupportLinesError(ValueError):
    """The support-lines file is missing, unreadable, or a line lacks a language."""


class SupportLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    topics: tuple[str, ...] = Field(min_length=1)
    text: dict[str, str]

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if tag.removesuffix(URGENT_SUFFIX) not in TOPICS:
                raise ValueError(f"unknown topic {tag!r}; use {', '.join(TOPICS)}")
        return value

    @field_validator("text")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [code for code in SUPPORTED_LOCALES if not value.get(code, "").strip()]
        if missing:
            raise ValueError(f"no text in {', '.join(missing)}")
        return value

    def applies(self, topic: str, urgent: bool) -> bool:
        return topic in self.topics or (urgent and f"{topic}{URGENT_SUFFIX}" in self.topics)


class SupportLines(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line: tuple[SupportLine, ...]

    def for_topic(self, topic: str, urgent: bool) -> list[SupportLine]:
        return [line for line in self.line if line.applies(topic, urgent)]

    def texts(self, topic: str, urgent: bool, locale: str) -> list[str]:
        """The lines for a topic, in the participant's language (English if it has none)."""
        return [line.text.get(locale, line.text["en"]) for line in self.for_topic(topic, urgent)]


def read_support_lines(path: Path) -> SupportLines:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SupportLinesError(f"{path.name}: {error}") from None
    try:
        return SupportLines.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SupportLinesError(f"{path.name}: {where}: {first['msg']}") from None


@lru_cache(maxsize=4)
def support_lines(path: Path = DEFAULT_PATH) -> SupportLines:
    """The shipped (or configured) lines, read once per process."""
    return read_support_lines(path)
