"""What the CLI prints stays readable: counts in words, tables at 80 columns, and no
half-written document on stdout (issue 9, item 5)."""

from __future__ import annotations

import contextlib
from typing import IO

import psycopg
import pytest
from rich.console import Console
from typer.testing import CliRunner

from eventstore.settings import DatabaseSettings
from projections.status import ProjectionStatus, SourceProgress
from scripts.cli import audit_verify
from scripts.cli.projections import status_table
from scripts.cli.root import app
from scripts.plural import counted

NAMES = ("account_statement", "account_summary", "analytics", "notifications", "payments")
SOURCES = ("accounts", "payments")


def test_counts_are_pluralised() -> None:
    assert counted(0, "event") == "0 events"
    assert counted(1, "event") == "1 event"
    assert counted(1_000, "event") == "1,000 events"
    assert counted(1, "try", "tries") == "1 try" and counted(3, "try", "tries") == "3 tries"


def test_projections_status_at_80_columns_shows_every_name_whole() -> None:
    statuses = [
        ProjectionStatus(
            name,
            12,
            None,
            "rebuilding",
            [SourceProgress(source, 1_234_567, 1_240_000, 5_433, 1234.5) for source in SOURCES],
        )
        for name in NAMES
    ]
    console = Console(width=80, record=True)

    console.print(status_table(statuses))

    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    header = next(line for line in lines if "projection" in line)
    for column in ("projection", "version", "state", "source", "position", "lag", "dead"):
        assert column in header.split(), header
    for name in NAMES:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert "…" not in console.export_text()


def test_audit_checkpoint_writes_nothing_to_stdout_when_it_fails_midway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def half_then_fail(file: IO[str], db: DatabaseSettings) -> tuple[str, int]:
        file.write('{"format": "paystream-audit-checkpoint/1",\n "contexts": {')
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(audit_verify, "reachable_database", DatabaseSettings)
    monkeypatch.setattr(audit_verify, "write_checkpoint", half_then_fail)
    # No database here: the operator log is tested in tests/integration/test_operator_log.py.
    monkeypatch.setattr(audit_verify, "recorded", lambda *args: contextlib.nullcontext())

    result = CliRunner().invoke(app, ["audit", "checkpoint"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("error: database error: server closed the connection unexpectedly\n")
