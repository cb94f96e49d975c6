"""One error path: every command that needs the database answers an unreachable one, or
a missing DATABASE_URL, with the same one line on stderr, the same exit code, soon."""

from __future__ import annotations

import time
from uuid import UUID

import pytest
from typer.testing import CliRunner, Result

from scripts.cli import rebuild
from scripts.cli.database import CONNECT_TIMEOUT_SECONDS
from scripts.cli.errors import CANNOT_RUN
from scripts.cli.root import app
from scripts.devstack.embedded import free_port
from tests.support.operator_token import operator_env

AGGREGATE = str(UUID(int=1))
DATABASE_COMMANDS = {
    "rebuild --dry-run": ["rebuild", "account_summary", "--dry-run"],
    "projections status": ["projections", "status"],
    "projections retry": ["projections", "retry", "account_summary"],
    "projections skip": ["projections", "skip", "account_summary", "--position", "1"],
    "replay": ["replay", "accounts"],
    "audit history": ["audit", "history", AGGREGATE],
    "audit state": ["audit", "state", AGGREGATE],
    "audit trace": ["audit", "trace", "some-request"],
    "audit export": ["audit", "export"],
    "audit events": ["audit", "events", "--context", "accounts"],
    "audit chain": ["audit", "chain", AGGREGATE],
    "audit verify": ["audit", "verify"],
    "audit checkpoint": ["audit", "checkpoint"],
    "audit actions": ["audit", "actions"],
    "provision": ["provision"],
    "gdpr erase": ["gdpr", "erase", "erin", "--reason", "request 118"],
    "gdpr check-kek": ["gdpr", "check-kek"],
    "gdpr rotate-kek": ["gdpr", "rotate-kek", "--new-kek-id", "next"],
    "gdpr seal-plaintext": ["gdpr", "seal-plaintext", "--checkpoint", "sealed-checkpoint.json"],
    "bench rebuild": ["bench", "rebuild"],
    "bench appends": ["bench", "appends"],
    "bench aggregate-load": ["bench", "aggregate-load"],
}


def run(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env={"COLUMNS": "80", **operator_env(), **env})


def one_error_line(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_an_unreachable_database_is_one_line_exit_2_within_the_timeout(command: str) -> None:
    port = free_port()
    env: dict[str, str | None] = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/paystream",
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
    }
    started = time.monotonic()
    result = run(DATABASE_COMMANDS[command], env)
    elapsed = time.monotonic() - started

    assert result.exit_code == CANNOT_RUN, result.output
    assert one_error_line(result) == (
        f"error: cannot reach PostgreSQL at 127.0.0.1:{port}: Connection refused"
    )
    assert elapsed < CONNECT_TIMEOUT_SECONDS + 2


def test_a_rebuild_waits_for_the_database_then_says_it_the_same_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebuild rides out an outage (tests/faults/test_rebuild_reconnects.py) for
    GIVE_UP_SECONDS; then the unreachable database reads as in every other command."""
    monkeypatch.setattr(rebuild, "GIVE_UP_SECONDS", 0.0)
    port = free_port()
    env: dict[str, str | None] = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/paystream",
    }

    result = run(["rebuild", "account_summary"], env)

    assert result.exit_code == CANNOT_RUN, result.output
    assert result.stderr.splitlines() == [
        f"error: cannot reach PostgreSQL at 127.0.0.1:{port}: Connection refused"
    ]


EVERY_DATABASE_COMMAND = {**DATABASE_COMMANDS, "rebuild": ["rebuild", "account_summary"]}


@pytest.mark.parametrize("command", EVERY_DATABASE_COMMAND)
def test_a_missing_database_url_is_the_same_line_in_every_command(command: str) -> None:
    env: dict[str, str | None] = {"DATABASE_URL": None, "NATS_URL": "nats://127.0.0.1:1"}
    result = run(EVERY_DATABASE_COMMAND[command], env)

    assert result.exit_code == CANNOT_RUN, result.output
    assert one_error_line(result).startswith(
        "error: DATABASE_URL is not set: run the `export DATABASE_URL=...` line"
    )


def test_a_missing_nats_url_is_one_line_before_any_connection() -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/paystream"
    result = run(["provision"], {"NATS_URL": None, "DATABASE_URL": closed})

    assert result.exit_code == CANNOT_RUN
    assert one_error_line(result).startswith(
        "error: NATS_URL is not set: run the `export NATS_URL=...` line"
    )


UNKNOWN_NAMES = {
    "projection": (["projections", "status", "nope"], "unknown projection 'nope' (known: "),
    "rebuild": (["rebuild", "nope"], "unknown projection 'nope' (known: "),
    "bench rebuild": (["bench", "rebuild", "--projection", "nope"], "unknown projection 'nope'"),
    "context": (["replay", "ledger"], "unknown context 'ledger'; known: accounts, payments"),
    "audit context": (["audit", "verify", "--context", "ledger"], "unknown context 'ledger'"),
    "service": (["serve", "nope"], "unknown service 'nope'; known: accounts-api"),
    "relay": (["serve", "relay"], "`serve relay` needs a target"),
}


@pytest.mark.parametrize("case", UNKNOWN_NAMES)
def test_an_unknown_name_is_one_line_without_stray_quotes(case: str) -> None:
    args, message = UNKNOWN_NAMES[case]

    result = run(args, {"DATABASE_URL": None})

    assert result.exit_code == CANNOT_RUN, result.output
    line = one_error_line(result)
    assert line.startswith(f"error: {message}"), line
    assert not line.startswith(('error: "', "error: '")), line


ERASE_REFUSALS = {
    "blank subject": (["gdpr", "erase", "  ", "--reason", "request"], "the subject must be"),
    "blank reason": (["gdpr", "erase", "erin", "--reason", " "], "--reason: reason must be"),
    "control in reason": (["gdpr", "erase", "erin", "--reason", "a\tb"], "--reason: reason"),
}


@pytest.mark.parametrize("case", ERASE_REFUSALS)
def test_bad_erase_input_is_one_line_before_any_connection(case: str) -> None:
    """Refused before the database is asked (none is set), so nothing is stored."""
    args, message = ERASE_REFUSALS[case]

    result = run(args, {"DATABASE_URL": None})

    assert result.exit_code == CANNOT_RUN, result.output
    assert one_error_line(result).startswith(f"error: {message}")
