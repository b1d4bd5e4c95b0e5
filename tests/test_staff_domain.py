"""Staff accounts and signing in, without the web: argon2, lock-out, sign-out, the audit rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError
from typer.testing import CliRunner

from bot.clock import ManualClock
from bot.domain import onboarding, staff
from bot.domain.audit import Viewer, record
from storage.db import Database
from storage.models import AuditAction, StaffAccount, StaffRole
from storage.uow import UnitOfWork

PASSWORD = "correct horse battery"


async def make_account(database: Database, clock: ManualClock, **options: object) -> StaffAccount:
    async with UnitOfWork(database) as uow:
        account = await staff.create_account(
            uow,
            username=str(options.pop("username", "eva")),
            password=str(options.pop("password", PASSWORD)),
            role=options.pop("role", StaffRole.STAFF),  # type: ignore[arg-type]
            now=clock.now(),
            **options,  # type: ignore[arg-type]
        )
        await uow.commit()
        return account


async def sign_in(
    database: Database, clock: ManualClock, password: str, username: str = "eva"
) -> staff.SignIn:
    async with UnitOfWork(database) as uow:
        result = await staff.authenticate(uow, username, password, clock.now())
        await uow.commit()
        return result


async def test_a_password_is_stored_only_as_an_argon2_hash(
    database: Database, clock: ManualClock
) -> None:
    account = await make_account(database, clock)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert (await sign_in(database, clock, PASSWORD)).problem is None


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    assert (await sign_in(database, clock, "wrong password!")).problem is staff.SignInProblem.WRONG
    unknown = await sign_in(database, clock, PASSWORD, username="nobody")
    assert unknown.problem is staff.SignInProblem.WRONG and unknown.account is None


async def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    for attempt in range(4):
        result = await sign_in(database, clock, f"wrong password {attempt}")
        assert result.problem is staff.SignInProblem.WRONG
        clock.advance(timedelta(minutes=1))
    fifth = await sign_in(database, clock, "wrong password 5")
    assert fifth.problem is staff.SignInProblem.LOCKED and fifth.just_locked
    assert fifth.locked_until == clock.now() + timedelta(minutes=15)

    clock.advance(timedelta(minutes=14))
    still = await sign_in(database, clock, PASSWORD)
    assert still.problem is staff.SignInProblem.LOCKED and not still.just_locked

    clock.advance(timedelta(minutes=1, seconds=1))
    assert (await sign_in(database, clock, PASSWORD)).problem is None


async def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    for attempt in range(8):
        result = await sign_in(database, clock, f"wrong password {attempt}")
        assert result.problem is staff.SignInProblem.WRONG
        clock.advance(timedelta(minutes=4))


async def test_a_success_clears_the_count_of_failures(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    for attempt in range(4):
        await sign_in(database, clock, f"wrong password {attempt}")
    assert (await sign_in(database, clock, PASSWORD)).problem is None
    for attempt in range(4):
        assert (await sign_in(database, clock, f"x{attempt}")).problem is staff.SignInProblem.WRONG


async def test_unlocking_and_a_new_password_lift_the_lock_and_end_old_sessions(
    database: Database, clock: ManualClock
) -> None:
    account = await make_account(database, clock)
    issued = clock.now()
    for attempt in range(5):
        await sign_in(database, clock, f"wrong password {attempt}")
    async with UnitOfWork(database) as uow:
        await staff.unlock(uow, "eva")
        await uow.commit()
    assert (await sign_in(database, clock, PASSWORD)).problem is None

    clock.advance(timedelta(minutes=1))
    async with UnitOfWork(database) as uow:
        await staff.set_password(uow, "EVA", "a new long passphrase", clock.now())
        await uow.commit()
    assert (await sign_in(database, clock, PASSWORD)).problem is staff.SignInProblem.WRONG
    changed = await sign_in(database, clock, "a new long passphrase")
    assert changed.account is not None and changed.problem is None
    assert not staff.session_accepted(changed.account, issued)
    assert staff.session_accepted(changed.account, clock.now())
    assert account.id == changed.account.id


async def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    async with UnitOfWork(database) as uow:
        await staff.set_disabled(uow, "eva", True, clock.now())
        await uow.commit()
    result = await sign_in(database, clock, PASSWORD)
    assert result.problem is staff.SignInProblem.DISABLED
    assert result.account is not None and not staff.session_accepted(result.account, clock.now())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"password": "short"}, "at least 10 characters"),
        ({"username": "Eva Berg"}, "a username is"),
        ({"password": "evaberg123", "username": "evaberg123"}, "must not be the username"),
        ({"role": StaffRole.MENTOR}, "needs --mentor-id"),
        ({"role": StaffRole.MENTOR, "mentor_id": 99}, "no mentor with id 99"),
        ({"mentor_id": 1}, "only a mentor's account"),
        ({"language": "ar"}, "interface language"),
    ],
)
async def test_an_account_that_cannot_be_made_is_refused_with_a_reason(
    database: Database, clock: ManualClock, options: dict[str, object], message: str
) -> None:
    with pytest.raises(onboarding.DomainError, match=message):
        await make_account(database, clock, **options)


async def test_a_second_account_with_the_same_name_is_refused(
    database: Database, clock: ManualClock
) -> None:
    await make_account(database, clock)
    with pytest.raises(onboarding.DomainError, match="exists already"):
        await make_account(database, clock, username="EVA")


async def test_the_audit_trail_refuses_to_be_changed_or_deleted(
    database: Database, clock: ManualClock
) -> None:
    account = await make_account(database, clock)
    async with UnitOfWork(database) as uow:
        await record(uow, Viewer.of(account), AuditAction.EXPORT, clock.now(), detail="esf")
        await uow.commit()
    for statement in ("UPDATE audit_event SET detail = 'nothing'", "DELETE FROM audit_event"):
        async with database.engine.connect() as connection:
            with pytest.raises((IntegrityError, InternalError, DBAPIError)):
                await connection.execute(text(statement))
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT detail FROM audit_event"))).scalar() == "esf"


def test_staff_add_reads_the_password_from_standard_input_for_scripts(tmp_path: object) -> None:
    from bot.cli import app

    runner = CliRunner()
    env = {"STEGVIS_DATA_DIR": str(tmp_path)}
    created = runner.invoke(app, ["staff", "add", "eva"], input=PASSWORD + "\n", env=env)
    assert created.exit_code == 0, created.output
    assert "Account 'eva' created (staff)" in created.output
    again = runner.invoke(app, ["staff", "add", "eva"], input=PASSWORD + "\n", env=env)
    assert again.exit_code == 2 and "exists already" in again.output
    weak = runner.invoke(app, ["staff", "add", "jon"], input="short\n", env=env)
    assert weak.exit_code == 2 and "at least 10 characters" in weak.output
    listed = runner.invoke(app, ["staff", "list"], env=env)
    assert "eva" in listed.output and "active" in listed.output


async def test_the_sandbox_gives_its_demo_accounts_a_fresh_password_at_every_start(
    database: Database, clock: ManualClock
) -> None:
    from bot.sandbox.launcher import seed_demo, seed_demo_accounts

    await seed_demo(database)
    first = await seed_demo_accounts(database)
    second = await seed_demo_accounts(database)
    assert set(first) == {"staff", "amina"} and first["staff"] != second["staff"]
    async with UnitOfWork(database) as uow:
        old = await staff.authenticate(uow, "staff", first["staff"], clock.now())
        new = await staff.authenticate(uow, "amina", second["amina"], clock.now())
        assert old.problem is staff.SignInProblem.WRONG
        assert new.problem is None and new.account is not None
        assert new.account.role is StaffRole.MENTOR and new.account.mentor_id is not None
