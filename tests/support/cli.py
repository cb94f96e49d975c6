"""Running `paystream` commands from tests, against a test's database.

`paystream` runs the command in the test's own process (typer's CliRunner): the same
code, exit code and output, without the second of CPU that starting Python and importing
the CLI costs a new process. `paystream_process` runs it through the real entry point, as
its own process: for what only a process shows (a stream written to a pipe, what a
user's terminal gets)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from scripts.cli.errors import CANNOT_RUN
from scripts.cli.root import app
from tests.support.operator_token import operator_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliRun:
    """What a command did: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def paystream(
    database_url: str, *args: str, columns: int = 200, env: dict[str, str] | None = None
) -> CliRun:
    """`paystream <args>` in this process, as the test operator (`env` adds to or replaces
    its variables); an unexpected exception fails the test."""
    env = {"DATABASE_URL": database_url, "COLUMNS": str(columns), **operator_env(), **(env or {})}
    result = CliRunner().invoke(app, list(args), env=env, prog_name="paystream")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"paystream {' '.join(args)} raised") from result.exception
    return CliRun(result.exit_code, result.stdout, result.stderr)


def paystream_process(database_url: str, *args: str, timeout: float = 120) -> CliRun:
    """`paystream <args>` as its own process, through `python -m scripts.cli`, as the test
    operator."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **operator_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def refusal(result: Result) -> str:
    """The one `error: ...` line of a command that could not run (exit 2, nothing on stdout)."""
    assert result.exit_code == CANNOT_RUN, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line
