"""What must hold after every fault: nothing acknowledged lost, nothing published or
applied twice, every read model equal to a fold of the event store, every service
ready, every payment finished; and how long recovery took."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from domains.accounts.application import AccountsService
from domains.payments.aggregates import TERMINAL
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS, Context, application_env
from projections.account_statement import AccountStatementProjection
from projections.account_summary import AccountSummaryProjection
from projections.notifications import NotificationsProjection
from projections.payments import PaymentsProjection
from projections.projection import Projection
from projections.tracking import reached_query
from scripts.devstack.supervisor import ServiceProcess
from tests.support.fault_load import Tally
from tests.support.read_model_checks import expected_rows
from tests.support.stack import Stack, wait_until
from tests.support.workload import folded_rows, summary_rows

READY_BOUND_SECONDS = 10.0  # /readyz answers 200 again within this of the return
RECOVERY_BOUND_SECONDS = 15.0
# Every read model the fault stack runs; each must catch up and equal a fold of the
# store (notifications follows both contexts, so it shows two-source runs too).
PROJECTIONS: tuple[type[Projection], ...] = (
    AccountSummaryProjection,
    AccountStatementProjection,
    PaymentsProjection,
    NotificationsProjection,
)


def readiness(process: ServiceProcess) -> int:
    """The status /readyz answers right now (0 when nothing answers)."""
    try:
        return httpx.get(f"{process.url}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def seconds_until_all_ready(processes: list[ServiceProcess]) -> dict[str, float]:
    """From now until each service first answers /readyz with 200 (bounded)."""
    started = time.monotonic()
    ready_after: dict[str, float] = {}

    def all_ready() -> bool:
        for process in processes:
            if process.spec.name not in ready_after and readiness(process) == 200:
                ready_after[process.spec.name] = time.monotonic() - started
        return len(ready_after) == len(processes)

    try:
        wait_until(all_ready, READY_BOUND_SECONDS, "every service ready again")
    except AssertionError as timeout:
        late = [p for p in processes if p.spec.name not in ready_after]
        raise AssertionError(f"{timeout}; still not ready: {not_ready_reasons(late)}") from None
    return ready_after


def not_ready_reasons(processes: list[ServiceProcess]) -> dict[str, str]:
    """What each service's /readyz says is missing, right now."""
    reasons = {}
    for process in processes:
        try:
            reasons[process.spec.name] = httpx.get(f"{process.url}/readyz", timeout=5).text
        except httpx.HTTPError as error:
            reasons[process.spec.name] = repr(error)
    return reasons


def reached(stack: Stack, projection: type[Projection], context: Context) -> int:
    with stack.admin() as conn:
        row = conn.execute(reached_query(projection.read_schema()), (context.name,)).fetchone()
    return int(row[0]) if row else 0


def caught_up(stack: Stack) -> bool:
    """Every read model has applied every event of every source it follows."""
    return all(
        reached(stack, projection, source) >= stack.max_position(source)
        for projection in PROJECTIONS
        for source in projection.sources
    )


def assert_acknowledged_stored(stack: Stack, tally: Tally) -> None:
    """Every acknowledged deposit is the event at the position its answer named."""
    assert tally.acknowledged, "no command was acknowledged"
    wanted = {ack.position: ack.account_id for ack in tally.acknowledged}
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id::text, topic"
            f" FROM {ACCOUNTS.schema}.{ACCOUNTS.events_table} WHERE notification_id = ANY(%s)",
            (list(wanted),),
        ).fetchall()
    stored = {int(position): account for position, account, topic in rows}
    assert all(topic == "MoneyDeposited.v1" for _, _, topic in rows)
    assert stored == wanted, f"{len(set(wanted) - set(stored))} acknowledged deposits missing"


def assert_published_exactly_once(stack: Stack) -> None:
    """Each stream holds every stored position once, in order, and nothing else, once
    the relays have published the last one (the projectors may have caught up before
    them: a gap in the stream is repaired from the store)."""
    for context in CONTEXTS.values():
        wait_until(
            published_all(stack, context, stack.max_position(context)),
            RECOVERY_BOUND_SECONDS,
            f"the {context.name} relay to publish every stored event",
        )
        assert stack.stream_positions(context) == stack.positions(context), context.name


def published_all(stack: Stack, context: Context, stored: int) -> Callable[[], bool]:
    """Whether the context's stream has reached position `stored`."""
    return lambda: max(stack.stream_positions(context), default=0) >= stored


def assert_payments_finished(stack: Stack, tally: Tally) -> None:
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))

    def finished() -> bool:
        return all(service.get_payment(UUID(p)).status in TERMINAL for p in tally.payments)

    try:
        wait_until(finished, 30, "every accepted payment finished")
    finally:
        service.close()


def assert_read_models_match_store(stack: Stack, accounts: list[str], tally: Tally) -> None:
    """Row for row: summaries, statement entries and payments equal a fold of the store."""
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    try:
        assert summary_rows(stack) == folded_rows(service, [UUID(a) for a in accounts])
    finally:
        service.close()
    statements, notifications = expected_rows(stack)  # what the event store says
    assert statement_entries(stack) == movements_of(statements)
    assert payment_rows(stack) == folded_payments(stack, tally.payments)
    notified = {(n[0], account, n[1]) for account, rows in notifications.items() for n in rows}
    assert notification_rows(stack) == notified


def statement_entries(stack: Stack) -> list[tuple[int, str]]:
    schema = AccountStatementProjection.read_schema()
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT position, account_id::text FROM {schema}.entries ORDER BY position"
        ).fetchall()
    return [(int(p), a) for p, a in rows]


def movements_of(statements: dict[str, list[tuple[Any, ...]]]) -> list[tuple[int, str]]:
    """Every money movement as (position, account), in log order."""
    return sorted((entry[0], account) for account, rows in statements.items() for entry in rows)


def money_movements(stack: Stack) -> list[tuple[int, str]]:
    """What the statement must hold: every money movement the event store has."""
    return movements_of(expected_rows(stack)[0])


def payment_rows(stack: Stack) -> dict[str, dict[str, Any]]:
    schema = PaymentsProjection.read_schema()
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT payment_id::text, status, version FROM {schema}.payments"
        ).fetchall()
    return {p: {"status": s, "version": v} for p, s, v in rows}


def folded_payments(stack: Stack, payments: list[str]) -> dict[str, dict[str, Any]]:
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    try:
        with stack.admin() as conn:
            table = f"{PAYMENTS.schema}.{PAYMENTS.events_table}"
            rows = conn.execute(f"SELECT DISTINCT originator_id::text FROM {table}").fetchall()
        every = {row[0] for row in rows}
        assert set(payments) <= every, "an accepted payment is not in the store"
        folded = {p: service.get_payment(UUID(p)) for p in every}
        return {p: {"status": f.status, "version": f.version} for p, f in folded.items()}
    finally:
        service.close()


def notification_rows(stack: Stack) -> set[tuple[str, str, str]]:
    schema = NotificationsProjection.read_schema()
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT id, account_id::text, kind FROM {schema}.notifications"
        ).fetchall()
    return {(i, a, k) for i, a, k in rows}


REQUEST_LINE = b'"logger":"paystream.requests"'


def log_lines(process: ServiceProcess) -> int:
    """Lines the service has logged so far (its rotated log and its other output), but
    the one line per answered request (api/request_logging.py): those come with the
    clients' load, not with the fault."""
    total = 0
    for path in (process.log_file, process.output_file):
        if path.exists():
            lines = path.read_bytes().splitlines()
            total += sum(REQUEST_LINE not in line for line in lines)
    return total
