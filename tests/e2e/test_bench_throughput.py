"""`paystream bench commands` and `bench payments` run against the running system as a
customer of the development issuer (its accounts, its payments), and say in one line
when they cannot get a token. The figures are theirs to print; this checks they ran."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.cli.errors import CANNOT_RUN
from tests.support.cli import paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def test_bench_commands_deposits_and_reads_as_a_customer(stack: Stack) -> None:
    result = paystream(
        stack.database_url,
        *("bench", "commands", "--clients", "2", "--seconds", "1"),
        *("--command-url", stack.url("accounts-api")),
        *("--query-url", stack.url("account-summary-query-api")),
        *("--issuer-dir", str(stack.issuer_dir)),
    )

    assert result.returncode == 0, result.output
    accepted = re.search(r"\((\d+) accepted, (\d+) failed\)", result.stdout)
    assert accepted and int(accepted[1]) > 0 and accepted[2] == "0", result.stdout
    assert "p50" in result.stdout and "(0 failed)" in result.stdout


def test_bench_payments_pays_between_its_own_accounts(stack: Stack) -> None:
    result = paystream(
        stack.database_url,
        *("bench", "payments", "--clients", "2", "--seconds", "1"),
        *("--command-url", stack.url("accounts-api")),
        *("--payments-url", stack.url("payments-api")),
        *("--query-url", stack.url("payments-query-api")),
        *("--issuer-dir", str(stack.issuer_dir)),
    )

    assert result.returncode == 0, result.output
    finished = re.search(r"finished: (\d+) \((\d+) completed\)", result.stdout)
    assert finished and int(finished[2]) > 0, result.stdout


def test_bench_commands_without_issuer_keys_is_one_line(stack: Stack, tmp_path: Path) -> None:
    result = paystream(
        stack.database_url,
        *("bench", "commands", "--issuer-dir", str(tmp_path)),
    )

    assert result.returncode == CANNOT_RUN
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: no signing key in {tmp_path}")
