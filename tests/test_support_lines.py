"""The support lines: read from the editable data file, complete in every language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SUPPORTED_LOCALES
from bot.support_lines import SupportLinesError, read_support_lines, support_lines


def test_every_line_is_written_in_every_language_the_bot_speaks() -> None:
    for line in support_lines().line:
        assert set(SUPPORTED_LOCALES) <= set(line.text), line.name


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_someone_in_danger_from_violence_gets_112_and_kvinnofridslinjen(locale: str) -> None:
    text = "\n".join(support_lines().texts("violence", True, locale))
    assert "112" in text and "020-50 50 50" in text and "114 14" in text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_thoughts_of_suicide_get_112_mind_and_1177(locale: str) -> None:
    text = "\n".join(support_lines().texts("health", True, locale))
    assert "112" in text and "90101" in text and "1177" in text


def test_a_health_question_that_is_not_urgent_gets_1177_only() -> None:
    text = "\n".join(support_lines().texts("health", False, "sv"))
    assert "1177" in text and "112" not in text and "90101" not in text


def test_debt_and_housing_point_to_the_municipality() -> None:
    assert "skuldrådgivning" in "\n".join(support_lines().texts("debt", False, "sv"))
    assert "Socialtjänsten" in "\n".join(support_lines().texts("housing", False, "sv"))


def test_a_line_without_arabic_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    path = tmp_path / "lines.toml"
    path.write_text(
        '[[line]]\nname = "x"\ntopics = ["violence"]\n'
        'text.sv = "Ring 112."\ntext.en = "Call 112."\n',
        "utf-8",
    )
    with pytest.raises(SupportLinesError, match="no text in ar"):
        read_support_lines(path)
    path.write_text(
        '[[line]]\nname = "x"\ntopics = ["war"]\ntext.sv = "a"\ntext.ar = "b"\ntext.en = "c"\n',
        "utf-8",
    )
    with pytest.raises(SupportLinesError, match="unknown topic"):
        read_support_lines(path)
