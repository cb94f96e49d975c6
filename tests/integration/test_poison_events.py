"""A poison event: retried with backoff, dead-lettered, the projection halted; an
operator's skip or retry resumes it, and the resolution is recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import pytest
from prometheus_client import REGISTRY
from psycopg import AsyncConnection, AsyncCursor

from api.health import worker_app
from eventstore.contexts import ACCOUNTS
from eventstore.envelope import H_POSITION, EventEnvelope
from projections.account_summary import AccountSummaryProjection
from projections.status import ProjectionStatus, projection_status
from tests.support import served_app
from tests.support.cli import CliRun, paystream
from tests.support.operator_token import SUBJECT
from tests.support.stack import Stack, wait_until
from tests.support.workload import ProjectorThread, accounts_service, summary_rows, tracked_position

pytestmark = pytest.mark.integration
POISON = 13


class PoisonedSummary(AccountSummaryProjection):
    """The account summary, with a handler that fails on deposits of 13 while poisoned."""

    poisoned = True

    async def money_deposited(self, cursor: AsyncCursor[Any], event: EventEnvelope) -> None:
        if self.poisoned and event.state()["amount"] == POISON:
            raise ValueError("cannot handle 13")
        await super().money_deposited(cursor, event)


def status(stack: Stack) -> ProjectionStatus:
    async def read() -> ProjectionStatus:
        conninfo = stack.db.role_conninfo(AccountSummaryProjection.role())
        async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return await projection_status(conn, AccountSummaryProjection)

    return asyncio.run(read())


def cli(stack: Stack, *args: str) -> CliRun:
    return paystream(stack.database_url, "projections", *args)


@pytest.fixture
def projector(stack: Stack) -> Any:
    stack.start("relay-accounts")
    thread = ProjectorThread(stack, PoisonedSummary(), max_attempts=3)
    thread.start()
    yield thread
    thread.finish()


def test_a_poison_event_halts_the_projection_and_skip_resumes_it(
    stack: Stack, projector: ProjectorThread
) -> None:
    service = accounts_service(stack)
    account = service.open_account("poisoned", "EUR").account_id
    service.deposit(account, 5)
    poison = service.deposit(account, POISON).position
    assert poison is not None
    service.deposit(account, 7)

    wait_until(lambda: status(stack).state == "halted", 60, "the projection to halt")
    halted = status(stack)
    [letter] = halted.dead_letters
    assert (letter.position, letter.attempts, letter.status) == (poison, 3, "open")
    assert "cannot handle 13" in letter.error
    assert tracked_position(stack) == poison - 1

    result = cli(stack, "skip", "account_summary", "--position", str(poison))
    assert result.returncode == 0, result.stderr
    wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "resume")

    assert summary_rows(stack)[account]["balance"] == 5 + 7
    shown = json.loads(cli(stack, "status", "account_summary", "--json").stdout)
    assert shown[0]["state"] == "running" and shown[0]["dead_letters"][0]["status"] == "skipped"
    assert shown[0]["sources"][0]["lag_events"] == 0
    [letter] = status(stack).dead_letters
    assert letter.status == "skipped" and letter.resolved_by == SUBJECT and letter.resolved_at
    assert status(stack).state == "running"


def test_retry_applies_the_event_once_the_handler_is_fixed(
    stack: Stack, projector: ProjectorThread
) -> None:
    service = accounts_service(stack)
    account = service.open_account("retried", "EUR").account_id
    service.deposit(account, POISON)
    wait_until(lambda: status(stack).state == "halted", 60, "the projection to halt")

    PoisonedSummary.poisoned = False
    try:
        result = cli(stack, "retry", "account_summary")
        assert result.returncode == 0, result.stderr
        wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "resume")
    finally:
        PoisonedSummary.poisoned = True

    assert summary_rows(stack)[account]["balance"] == POISON
    assert [d.status for d in status(stack).dead_letters][-1] == "retried"


def test_resolving_without_a_dead_letter_is_a_one_line_error(stack: Stack) -> None:
    result = cli(stack, "skip", "account_summary", "--position", "999999")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "error: account_summary has no open dead letter at position 999999"
    )
    assert cli(stack, "status", "nope").returncode == 2


def stored_state(stack: Stack, position: int) -> dict[str, Any]:
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    with stack.admin() as conn:
        query = f"SELECT state FROM {table} WHERE notification_id = %s"
        row = conn.execute(query, (position,)).fetchone()
    assert row is not None
    state: dict[str, Any] = json.loads(bytes(row[0]))
    return state


def store_straight(stack: Stack, state: dict[str, Any]) -> int:
    """Write an AccountOpened event as the administrator, around the API (as stores of
    before the API refused such text hold them); its position."""
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    body = json.dumps(state).encode()  # NUL as \u0000, a lone surrogate as \ud800
    with stack.admin() as conn:
        row = conn.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 'AccountOpened.v1', %s) RETURNING notification_id",
            (uuid4(), body),
        ).fetchone()
    assert row is not None
    return int(row[0])


def dead_letter_at(stack: Stack, position: int) -> bool:
    return any(d.position == position and d.status == "open" for d in status(stack).dead_letters)


def test_poison_stored_around_the_api_is_skipped_alike_by_projector_and_rebuild_and_exported(
    stack: Stack, projector: ProjectorThread
) -> None:
    service = accounts_service(stack)
    template = service.open_account("template", "EUR").position
    assert template is not None
    opened = stored_state(stack, template)
    nul = store_straight(stack, {**opened, "owner": "Bob\x00"})
    surrogate = store_straight(stack, {**opened, "owner": "\ud800x"})
    after = service.open_account("after the poison", "EUR").account_id
    service.deposit(after, 5)

    wait_until(lambda: dead_letter_at(stack, nul), 60, "the NUL owner to be dead-lettered")
    assert "NUL" in status(stack).dead_letters[-1].error
    refused = paystream(stack.database_url, "rebuild", "account_summary")
    assert refused.returncode != 0
    assert f"AccountOpened.v1 at accounts:{nul}" in refused.stderr, refused.stderr
    assert cli(stack, "skip", "account_summary", "--position", str(nul)).returncode == 0
    wait_until(lambda: dead_letter_at(stack, surrogate), 60, "the surrogate to be dead-lettered")
    assert cli(stack, "skip", "account_summary", "--position", str(surrogate)).returncode == 0
    wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "resume")
    live = summary_rows(stack)
    assert live[after]["balance"] == 5 and status(stack).state == "running"

    rebuilt = paystream(stack.database_url, "rebuild", "account_summary")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert summary_rows(stack) == live
    since = opened["__meta__"]["recorded_at"]
    export = paystream(
        stack.database_url, "audit", "export", "--context", "accounts", "--since", since
    )
    assert export.returncode == 0, export.stderr
    owners = [json.loads(line)["payload"].get("owner") for line in export.stdout.splitlines()]
    assert [o for o in owners if o] == ["template", "Bob\x00", "\ud800x", "after the poison"]


def drop_from_stream(stack: Stack, position: int) -> None:
    """Delete the message of `position` from the accounts stream: the projector can only
    reach that event by repairing the gap from the event store."""

    async def drop() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(ACCOUNTS.stream)
            for seq in range(info.state.last_seq, info.state.first_seq - 1, -1):
                message = await js.get_msg(ACCOUNTS.stream, seq=seq)
                if int((message.headers or {})[H_POSITION]) == position:
                    await js.delete_msg(ACCOUNTS.stream, seq)
                    return
            raise AssertionError(f"no message for position {position}")
        finally:
            await nc.close()

    asyncio.run(drop())


def test_a_skipped_poison_met_through_gap_repair_is_skipped_there_too(stack: Stack) -> None:
    stack.start("relay-accounts")
    service = accounts_service(stack)
    template = service.open_account("template for repair", "EUR").position
    assert template is not None
    poison = store_straight(stack, {**stored_state(stack, template), "owner": "Eve\x00"})
    after = service.open_account("after the repaired poison", "EUR")
    assert after.position is not None
    published = after.position
    wait_until(lambda: stack.stream_positions(ACCOUNTS)[-1] >= published, 60, "the relay")
    drop_from_stream(stack, poison)
    thread = ProjectorThread(stack, AccountSummaryProjection(), max_attempts=2)
    thread.start()
    try:
        wait_until(lambda: dead_letter_at(stack, poison), 60, "the repaired poison to fail")
        assert cli(stack, "skip", "account_summary", "--position", str(poison)).returncode == 0

        wait_until(lambda: tracked_position(stack) >= published, 60, "the projector to resume")

        assert summary_rows(stack)[after.account_id]["owner"] == "after the repaired poison"
        assert thread.projector.status.repaired >= 1
    finally:
        thread.finish()


def halted_gauge() -> float:
    """The halted metric of the account summary's projector, running in this process."""
    labels = {"projection": AccountSummaryProjection.name}
    return REGISTRY.get_sample_value("paystream_projection_halted", labels) or 0.0


def test_top_shows_the_halted_projection_as_halted(
    stack: Stack, projector: ProjectorThread, tmp_path: Path
) -> None:
    service = accounts_service(stack)
    account = service.open_account("watched", "EUR").account_id
    applied = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= applied, 60, "the account to be projected")
    service.deposit(account, POISON)
    wait_until(lambda: halted_gauge() == 1, 60, "the projector to say it is halted")
    status_app = worker_app(
        "projector account_summary", no_lack, lambda: projector.projector.status
    )

    with served_app.served(status_app) as projector_url:
        layout = {"relay-accounts": stack.url("relay-accounts"), "projector": projector_url}
        (tmp_path / "services.json").write_text(json.dumps(layout))
        shown = paystream(
            stack.database_url, "top", "--data-dir", str(tmp_path), "--once", "--interval", "0.2"
        )

    assert shown.returncode == 1, shown.output  # an alarm
    lines = shown.stdout.splitlines()
    assert lines[1] == "ALARM projection account_summary (accounts) halted", shown.stdout
    [row] = [line for line in lines if line.startswith("│ account_summary ")]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert (cells[1], cells[2], cells[-1]) == ("accounts", f"{applied:,}", "halted")
    for name in layout:
        [service_row] = [line for line in lines if line.startswith(f"│ {name} ")]
        assert [cell.strip() for cell in service_row.split("│")][2] == "up"


async def no_lack() -> list[str]:
    return []
