"""`paystream bench commands` and `bench payments` run against the running system as a
customer of the development issuer (its accounts, its payments), and say in one line
when they cannot get a token. The figures are theirs to print; this checks they ran."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.cli.errors import CANNOT_RUN
from scripts.devstack.gateway import BENCH_RATE_LIMITS
from scripts.devstack.up import layout_file
from tests.support.cli import CliRun, paystream
from tests.support.stack import Stack, StackGateway

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


def suite(stack: Stack, gateway: StackGateway, *args: str) -> CliRun:
    """`paystream bench suite`, briefly, on the running system through `gateway`, with the
    layout `up` would have recorded in its data directory."""
    layout = {"gateway": {"url": gateway.url, "ready": f"{gateway.envoy.admin_url}/ready"}}
    for process in stack.processes:
        layout[process.name] = {"url": process.url, "ready": f"{process.url}/readyz"}
    layout_file(stack.work_dir).write_text(json.dumps(layout))
    return paystream(
        stack.database_url,
        *("bench", "suite", "--json", "--clients", "2", "--seconds", "1"),
        *("--idle-seconds", "1", "--backlog", "200", "--long-history", "100", "--rounds", "1"),
        *("--data-dir", str(stack.work_dir)),
        *("--gateway-url", gateway.url, "--admin-url", gateway.envoy.admin_url),
        *("--issuer-dir", str(stack.issuer_dir), *args),
        env={"NATS_URL": stack.nats_url},
    )


def test_bench_suite_runs_every_part_and_lists_every_target(stack: Stack) -> None:
    """Every target is a figure, and every one was measured (`paystream up --bench`'s
    gateway: no limits, the hello-world route). The figures and their pass or fail are
    the bench's business."""
    with stack.gateway(rate_limits=BENCH_RATE_LIMITS, bench_hello=True) as gateway:
        result = suite(stack, gateway, "--soak", "--soak-minutes", "0.1")

    assert result.returncode == 0, result.output
    found = json.loads(result.stdout)
    assert len(found["figures"]) == 13
    assert all(figure["measured"] is not None for figure in found["figures"]), found
    measured = found["measured"]
    assert measured["commands_per_second"] > 0
    assert measured["query_gets_per_second"] > 0 and measured["hello_gets_per_second"] > 0
    assert measured["idle_by_process"], "no process of the system was watched"
    assert "bench-hello" not in measured["idle_by_process"], "not a process of the system"


def test_bench_suite_refuses_a_gateway_that_would_limit_it(
    stack: Stack, public_gateway: StackGateway
) -> None:
    result = suite(stack, public_gateway)

    assert result.returncode == CANNOT_RUN
    [line] = result.stderr.splitlines()
    assert line.startswith("error: the gateway admits ")
    assert line.endswith("start the stack with `paystream up --bench`")


def test_bench_suite_refuses_a_gateway_without_the_hello_route(stack: Stack) -> None:
    with stack.gateway(rate_limits=BENCH_RATE_LIMITS) as gateway:
        result = suite(stack, gateway)

    assert result.returncode == CANNOT_RUN
    [line] = result.stderr.splitlines()
    assert line == (
        f"error: the gateway at {gateway.url} has no route GET /bench/hello, the query GET"
        " figure's baseline; start the stack with `paystream up --bench`"
    )


def test_bench_suite_without_a_running_system_is_one_line(tmp_path: Path) -> None:
    result = paystream("", *("bench", "suite", "--data-dir", str(tmp_path)))

    assert result.returncode == CANNOT_RUN
    [line] = result.stderr.splitlines()
    assert line == f"error: no process of a running `paystream up` uses {tmp_path}; start one"
