"""`paystream bench gateway` and `bench rate-limit`, briefly, against a small real stack:
its services, its issuer and a real Envoy with small limits (read from its admin). The
figures are the benches' business; here, that they are there and nothing failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gateway.rate_limits import RateLimits, TokenBucket
from scripts.cli.root import app
from tests.support.cli import refusal
from tests.support.issuer import dev_issuer
from tests.support.stack import Stack, StackGateway

READ_AND_DEPOSIT = (
    "accounts-api",
    "relay-accounts",
    "projector-account-summary",
    "account-summary-query-api",
    "payments-query-api",
)
# Small, so one second spends the burst; the client address's rate shared by 4 subjects.
LIMITS = RateLimits(per_subject=TokenBucket(5, 5), per_client_ip=TokenBucket(20, 20))


def bench(
    stack: Stack, gateway: StackGateway, *args: str, issuer_dir: Path | None = None
) -> Result:
    """`paystream bench <args>` on the stack and its gateway (the services' URLs for
    `bench gateway`, which also reaches them directly)."""
    urls = [
        *("--gateway-url", gateway.url),
        *("--admin-url", gateway.envoy.admin_url),
        *("--issuer-dir", str(issuer_dir or stack.issuer_dir)),
    ]
    if args[0] == "gateway":
        urls += ["--command-url", stack.url("accounts-api")]
        urls += ["--query-url", stack.url("account-summary-query-api")]
    return CliRunner().invoke(app, ["bench", *args, *urls], env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def stop_started_services() -> None:
    """The services run for the whole module (`gateway`), not one test each."""


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[StackGateway]:
    try:
        stack.start_all(READ_AND_DEPOSIT)
        with stack.gateway(rate_limits=LIMITS) as gateway:
            yield gateway
    finally:
        stack.stop_all()


def test_the_latency_bench_times_each_path_and_kind(stack: Stack, gateway: StackGateway) -> None:
    result = bench(stack, gateway, "gateway", "--requests", "6", "--warmup", "2")

    assert result.exit_code == 0, result.output
    rows = {" ".join(line.split()[:2]): line.split() for line in result.stdout.splitlines()}
    for row in ("read direct", "read gateway", "deposit direct", "deposit gateway"):
        assert rows[row][2] == "6" and len(rows[row]) == 7, result.stdout
    assert result.stdout.count("gateway adds: p50 ") == 2
    assert "at most 16 pairs/s over 4 subjects" in result.stdout


def test_the_rate_limit_bench_reads_the_limit_and_checks_the_429s(
    stack: Stack, gateway: StackGateway
) -> None:
    result = bench(stack, gateway, "rate-limit", "--seconds", "1")

    assert result.exit_code == 0, result.output
    assert "configured per subject: burst 5 + 5/s" in result.stdout
    assert "with Retry-After: 100.0%; problem+json: 100.0%" in result.stdout


def test_tokens_the_stack_does_not_trust_are_one_line(
    stack: Stack, gateway: StackGateway, tmp_path: Path
) -> None:
    stranger = dev_issuer(tmp_path).directory.path

    result = bench(stack, gateway, "gateway", issuer_dir=stranger)

    assert refusal(result).startswith("error: the accounts command API answered 401 to POST ")
