"""`paystream audit events` and `audit chain`: a context's events newest first, a page at
a time that never repeats or skips one, filtered by aggregate, type, correlation id and
time; one aggregate's chain verified, or broken at the version an SQL edit changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS, application_env
from eventstore.metadata import CommandMetadata, command_metadata
from scripts.cli.errors import CANNOT_RUN, FOUND_PROBLEMS
from tests.support.cli import CliRun, paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> Iterator[dict[str, Any]]:
    """Two accounts: one opened and deposited to twice, one opened; each command its own
    correlation id."""
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=1))
    correlations = [f"browse-{uuid4()}" for _ in range(4)]
    try:
        with command_metadata(CommandMetadata(correlation_id=correlations[0])):
            busy = service.open_account("Busy", "EUR").account_id
        for correlation in correlations[1:3]:
            with command_metadata(CommandMetadata(correlation_id=correlation)):
                service.deposit(busy, 10)
        with command_metadata(CommandMetadata(correlation_id=correlations[3])):
            quiet = service.open_account("Quiet", "EUR").account_id
        yield {"busy": busy, "quiet": quiet, "correlations": correlations}
    finally:
        service.close()


def browse(stack: Stack, *args: str) -> dict[str, Any]:
    result = paystream(stack.database_url, "audit", "events", "--context", "accounts", *args,
                       "--json")  # fmt: skip
    assert result.returncode == 0, result.output
    page: dict[str, Any] = orjson.loads(result.stdout)
    return page


def positions(page: dict[str, Any]) -> list[int]:
    return [event["position"] for event in page["events"]]


def test_pages_go_newest_first_and_meet_without_a_gap(
    stack: Stack, accounts: dict[str, Any]
) -> None:
    every = positions(browse(stack, "--limit", "500"))
    assert every == sorted(every, reverse=True)
    first = browse(stack, "--limit", "2")
    second = browse(stack, "--limit", "2", "--before", str(first["next_before"]))
    assert positions(first) + positions(second) == every[:4]
    last = browse(stack, "--limit", "500", "--before", str(every[-1] + 1))
    assert (positions(last), last["next_before"]) == ([every[-1]], None)


def test_the_filters_each_narrow_the_page(stack: Stack, accounts: dict[str, Any]) -> None:
    busy = browse(stack, "--aggregate", str(accounts["busy"]))
    assert [e["version"] for e in busy["events"]] == [3, 2, 1]
    deposits = browse(stack, "--aggregate", str(accounts["busy"]), "--type", "MoneyDeposited.v1")
    assert [e["version"] for e in deposits["events"]] == [3, 2]
    [one] = browse(stack, "--correlation-id", accounts["correlations"][3])["events"]
    assert UUID(one["aggregate_id"]) == accounts["quiet"]
    recorded = busy["events"][1]["recorded_at"]  # the first deposit's
    since = browse(stack, "--aggregate", str(accounts["busy"]), "--since", recorded)
    assert [e["version"] for e in since["events"]] == [3, 2]
    until = browse(stack, "--aggregate", str(accounts["busy"]), "--until", recorded)
    assert [e["version"] for e in until["events"]] == [1]


def test_the_table_says_how_to_ask_for_the_next_page(
    stack: Stack, accounts: dict[str, Any]
) -> None:
    result = paystream(stack.database_url, "audit", "events", "--context", "accounts",
                       "--aggregate", str(accounts["busy"]), "--limit", "2")  # fmt: skip
    assert result.returncode == 0, result.output
    assert "MoneyDeposited.v1" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("older: --before ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--context", "ledger"], "unknown context 'ledger'"),
        (["--context", "accounts", "--aggregate", "nope"], "'nope' is not an aggregate id"),
        (["--context", "accounts", "--since", "2026-12-02", "--until", "2026-12-01"], "after"),
        (["--context", "accounts", "--since", "yesterday"], "not an ISO 8601 time"),
    ],
)
def test_bad_input_is_one_line(stack: Stack, args: list[str], message: str) -> None:
    result = paystream(stack.database_url, "audit", "events", *args)
    assert result.returncode == CANNOT_RUN, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line, line


def chain(stack: Stack, aggregate_id: UUID) -> CliRun:
    return paystream(stack.database_url, "audit", "chain", str(aggregate_id), "--json")


def test_a_chain_verifies_until_an_event_is_changed_in_sql(
    stack: Stack, accounts: dict[str, Any]
) -> None:
    busy = accounts["busy"]
    verified = chain(stack, busy)
    assert verified.returncode == 0, verified.output
    assert orjson.loads(verified.stdout) == {"status": "verified", "events": 3, "broken": []}
    update = (
        "UPDATE accounts.accounts_events SET state = state || ' '::bytea"
        " WHERE originator_id = %s AND originator_version = 2"
    )
    with stack.admin() as conn:
        conn.execute(update, (busy,))
    try:
        broken = chain(stack, busy)
    finally:
        with stack.admin() as conn:
            conn.execute(
                "UPDATE accounts.accounts_events SET state = substring(state FROM 1 FOR"
                " length(state) - 1) WHERE originator_id = %s AND originator_version = 2",
                (busy,),
            )
    assert broken.returncode == FOUND_PROBLEMS, broken.output
    answer = orjson.loads(broken.stdout)
    assert answer["status"] == "broken"
    assert [(link["versions"], link["kind"]) for link in answer["broken"]] == [("v2", "altered")]
    assert chain(stack, busy).returncode == 0


def test_the_chain_of_no_aggregate_is_one_line(stack: Stack) -> None:
    result = paystream(stack.database_url, "audit", "chain", str(uuid4()))
    assert result.returncode == CANNOT_RUN, result.output
    assert result.stderr.startswith("error: no aggregate ")
