"""The updates benchmark runs end to end at a tiny size: both bots measured, the ratio
printed, every participant's answers found in the database. Not a timed test."""

from __future__ import annotations

import pytest

from bench import updates
from tests.conftest import POSTGRES_URL


def run(capsys: pytest.CaptureFixture[str], *options: str) -> str:
    assert updates.main(["--participants", "5", *options]) == 0
    return capsys.readouterr().out


def assert_complete(out: str) -> None:
    assert "bare python-telegram-bot" in out and "Stegvis" in out
    assert "updates/s" in out and "latency p99 (ms)" in out
    assert "ratio Stegvis/bare:" in out
    assert "check, bare python-telegram-bot: every one of 20 updates answered" in out
    assert "check, Stegvis: all 5 check-ins stored as answered" in out


def test_the_benchmark_runs_on_sqlite_and_checks_the_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run(capsys, "--profile")
    assert_complete(out)
    assert "Stegvis on SQLite" in out
    assert "top 25 by own time" in out  # the profile of the measured window


@pytest.mark.skipif(not POSTGRES_URL, reason="needs STEGVIS_TEST_DATABASE_URL (PostgreSQL)")
def test_the_benchmark_runs_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "--database-url", POSTGRES_URL)
    assert_complete(out)
    assert "Stegvis on PostgreSQL" in out
