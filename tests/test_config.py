"""Settings: defaults that start the sandbox, and one clear line for a wrong value."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings


def test_defaults_run_the_sandbox_on_sqlite_in_the_data_folder() -> None:
    settings = load_settings()
    assert settings.sandbox
    assert settings.timezone == "Europe/Stockholm"
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("data/stegvis.sqlite3")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("STEGVIS_TIMEZONE", "Mars/Olympus_Mons", "is not a known time zone"),
        ("STEGVIS_DEFAULT_LOCALE", "de", "'sv', 'ar' or 'en'"),
        ("STEGVIS_DATABASE_URL", "mysql://x", "neither a sqlite:// nor a postgresql://"),
        ("STEGVIS_TELEGRAM_BASE_URL", "api.telegram.org", "must start with http"),
        ("STEGVIS_RETENTION_MONTHS", "zero", "valid integer"),
    ],
)
def test_a_wrong_value_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_the_command_line_stops_at_start_with_that_line_and_exit_code_2(tmp_path: Path) -> None:
    env = {**os.environ, "STEGVIS_TIMEZONE": "Mars/Olympus_Mons", "STEGVIS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "STEGVIS_TIMEZONE" in lines[0]
    assert not list(tmp_path.iterdir()), "nothing is created when the settings are wrong"


def test_a_bot_token_without_an_encryption_key_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STEGVIS_BOT_TOKEN": "123:abc",
        "STEGVIS_DATA_DIR": str(tmp_path),
        "STEGVIS_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
    }
    env.pop("STEGVIS_ENCRYPTION_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "STEGVIS_ENCRYPTION_KEY" in result.stderr


def test_a_bot_token_without_a_dashboard_secret_is_refused(tmp_path: Path) -> None:
    from storage.crypto import generate_key

    env = {
        **os.environ,
        "STEGVIS_BOT_TOKEN": "123:abc",
        "STEGVIS_DATA_DIR": str(tmp_path),
        "STEGVIS_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
        "STEGVIS_ENCRYPTION_KEY": generate_key(),
    }
    env.pop("STEGVIS_WEB_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "STEGVIS_WEB_SECRET" in result.stderr


def test_a_database_that_cannot_be_reached_stops_the_start_with_one_line(tmp_path: Path) -> None:
    """A wrong address, user or database name: one line naming the setting, no driver
    traceback, and never the password."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "STEGVIS_DATA_DIR": str(tmp_path),
        "STEGVIS_DATABASE_URL": f"postgresql://stegvis:hemligt@127.0.0.1:{port}/stegvis",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: STEGVIS_DATABASE_URL: cannot reach the database at ")
    assert "hemligt" not in result.stderr
