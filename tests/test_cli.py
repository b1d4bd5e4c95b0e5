"""The staff's command line: cohorts, mentors and invites, as a coordinator would type them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STEGVIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STEGVIS_BOT_USERNAME", "stegvis_lumena_bot")
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_a_coordinator_sets_up_a_cohort_a_mentor_and_an_invite(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert "Cohort 'Lumena vår' created." in run(cli, "cohort", "add", "Lumena vår")
    added = run(
        cli,
        "mentor",
        "add",
        "--name",
        "Amina Haddad",
        "--languages",
        "ar,sv",
        "--telegram-id",
        "7001",
    )
    mentor_id = re.search(r"with id (\d+)", added)
    assert mentor_id is not None
    out = run(cli, "invite", "create", "--cohort", "Lumena vår", "--mentor", mentor_id.group(1))
    code = re.search(r"Code: (\w+)", out)
    assert code is not None
    assert f"https://t.me/stegvis_lumena_bot?start={code.group(1)}" in out
    qr = tmp_path / "invites" / f"{code.group(1)}.png"
    assert qr.read_bytes().startswith(b"\x89PNG")
    listed = run(cli, "invite", "list")
    assert code.group(1) in listed and "open" in listed
    run(cli, "invite", "revoke", code.group(1))
    assert "revoked" in run(cli, "invite", "list")


def test_a_mentor_without_a_telegram_id_gets_an_invite_of_their_own(cli: CliRunner) -> None:
    out = run(cli, "mentor", "add", "--name", "Jonas Berg", "--languages", "sv")
    assert re.search(r"Their own invite: \w+  https://t.me/stegvis_lumena_bot\?start=\w+", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("invite", "create", "--cohort", "Nope"), "no cohort named 'Nope'"),
        (("mentor", "add", "--name", "X", "--languages", "de"), "unknown language de"),
        (("invite", "revoke", "NOPE"), "no invite with code 'NOPE'"),
    ],
)
def test_mistakes_end_with_one_clear_line(
    cli: CliRunner, args: tuple[str, ...], message: str
) -> None:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 2
    assert message in result.output


def test_a_second_cohort_with_the_same_name_is_refused(cli: CliRunner) -> None:
    run(cli, "cohort", "add", "USB")
    assert "exists already" in run(cli, "cohort", "add", "USB", code=2)
