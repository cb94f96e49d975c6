"""The four read models built from a real history on PostgreSQL, through the projector's
batch rule: what they hold, and that applying events again changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from eventstore.contexts import ACCOUNTS
from projections.account_statement import AccountStatementProjection
from projections.analytics import AnalyticsProjection
from projections.notifications import NotificationsProjection
from projections.payments import PaymentsProjection
from projections.projection import TRACKING_TABLE, Projection
from projections.runtime import Projector
from tests.support.payment_history import (
    FROZEN_REASON,
    History,
    project,
    projector_for,
    stored_events,
    write_history,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

READ_MODELS = (
    AccountStatementProjection,
    PaymentsProjection,
    NotificationsProjection,
    AnalyticsProjection,
)

STATEMENT = AccountStatementProjection.versioned_schema()
NOTIFICATIONS = NotificationsProjection.versioned_schema()
PAYMENTS = PaymentsProjection.versioned_schema()


@pytest.fixture(scope="module")
def history(stack: Stack) -> History:
    return write_history(stack)


@pytest.fixture(scope="module")
def projectors(stack: Stack, history: History) -> dict[str, Projector]:
    """Each read model, built once from every stored event."""
    built = {projection.name: projector_for(stack, projection) for projection in READ_MODELS}
    for projector in built.values():
        project(stack, projector)
    return built


def rows(stack: Stack, query: str, *params: object) -> list[dict[str, Any]]:
    with stack.admin() as conn:
        cursor = conn.execute(query, params)
        columns = [c.name for c in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def snapshot(stack: Stack, projection: type[Projection]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the read model, tracking aside."""
    schema = projection.versioned_schema()
    tables = rows(
        stack,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND table_name <> %s",
        schema,
        TRACKING_TABLE,
    )
    return {
        t["table_name"]: rows(stack, f"SELECT * FROM {schema}.{t['table_name']} ORDER BY 1, 2")
        for t in tables
    }


def statement(stack: Stack, account_id: UUID) -> list[dict[str, Any]]:
    return rows(
        stack,
        "SELECT kind, amount, balance_after, counterparty, reference, payment_id"
        f" FROM {STATEMENT}.entries WHERE account_id = %s ORDER BY position",
        account_id,
    )


def test_the_statement_lists_every_movement_with_the_balance_after_it(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    bob, paid, failed = str(history.bob), str(history.completed), str(history.failed)

    assert statement(stack, history.alice) == [
        entry("deposit", 10_000, 10_000),
        entry("withdrawal", -1_500, 8_500),
        entry("payment_debit", -2_000, 6_500, bob, "rent", paid),
        entry("payment_debit", -700, 5_800, bob, "gift", failed),
        entry("payment_refund", 700, 6_500, bob, "gift", failed),
    ]
    alice = str(history.alice)
    assert statement(stack, history.bob) == [
        entry("payment_credit", 2_000, 2_000, alice, "rent", paid)
    ]


def entry(kind: str, amount: int, balance: int, *payment: str) -> dict[str, Any]:
    counterparty, reference, payment_id = payment or (None, None, None)
    return {
        "kind": kind,
        "amount": amount,
        "balance_after": balance,
        "counterparty": counterparty,
        "reference": reference,
        "payment_id": payment_id,
    }


def test_every_statement_ends_at_the_account_folded_balance(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    for account_id in (history.alice, history.bob, history.carol, history.dave):
        folded = history.accounts.get_account(account_id).balance
        entries = statement(stack, account_id)
        assert (entries[-1]["balance_after"] if entries else 0) == folded
        (kept,) = rows(
            stack,
            f"SELECT balance FROM {STATEMENT}.balances WHERE account_id = %s",
            account_id,
        )
        assert kept["balance"] == folded


def test_an_opened_account_without_movements_has_an_empty_statement(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    assert statement(stack, history.carol) == []
    assert rows(
        stack,
        f"SELECT currency FROM {STATEMENT}.balances WHERE account_id = %s",
        history.carol,
    ) == [{"currency": "EUR"}]


def test_a_payment_row_is_the_payment_as_folded(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    for payment_id, status, reason, refunded in [
        (history.completed, "completed", None, False),
        (history.failed, "failed", FROZEN_REASON, True),
    ]:
        payment = history.payments.get_payment(payment_id)
        query = f"SELECT * FROM {PAYMENTS}.payments WHERE payment_id = %s"
        (row,) = rows(stack, query, payment_id)

        assert (row["source"], row["destination"]) == (history.alice, history.bob)
        assert (row["amount"], row["currency"], row["reference"]) == (
            payment.amount,
            "EUR",
            payment.reference,
        )
        assert (row["status"], row["failure_reason"], row["refunded"]) == (
            status,
            reason,
            refunded,
        )
        assert (row["version"], row["created_at"], row["updated_at"]) == (
            payment.version,
            payment.created_on,
            payment.modified_on,
        )


def notifications(stack: Stack, account_id: UUID) -> list[tuple[Any, ...]]:
    found = rows(
        stack,
        "SELECT kind, amount, currency, counterparty, reason, refunded"
        f" FROM {NOTIFICATIONS}.notifications WHERE account_id = %s ORDER BY occurred_at",
        account_id,
    )
    return [tuple(row.values()) for row in found]


def test_each_account_is_notified_once_of_each_movement_and_failure(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    alice, bob = str(history.alice), str(history.bob)

    assert notifications(stack, history.alice) == [
        ("deposit", 10_000, "EUR", None, None, None),
        ("withdrawal", 1_500, "EUR", None, None, None),
        ("payment_sent", 2_000, "EUR", bob, None, None),
        ("payment_sent", 700, "EUR", bob, None, None),
        ("payment_failed", 700, "EUR", bob, FROZEN_REASON, True),
    ]
    assert notifications(stack, history.bob) == [
        ("payment_received", 2_000, "EUR", alice, None, None)
    ]
    assert notifications(stack, history.dave) == [("deposit", 300, "USD", None, None, None)]
    assert notifications(stack, history.carol) == []


def daily_totals(stack: Stack, table: str, first: str, second: str) -> list[tuple[Any, ...]]:
    """Per currency, over every day: both measures' counts and volumes."""
    sums = ", ".join(
        f"sum({c}) AS {c}" for m in (first, second) for c in (f"{m}_count", f"{m}_volume")
    )
    found = rows(
        stack,
        f"SELECT currency, {sums} FROM analytics_v1.{table} GROUP BY currency ORDER BY currency",
    )
    return [(currency, *map(int, figures)) for currency, *figures in map(dict.values, found)]


def test_analytics_count_and_sum_each_kind_per_currency(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    assert daily_totals(stack, "daily_payments", "completed", "failed") == [
        ("EUR", 1, 2_000, 1, 700)
    ]
    assert daily_totals(stack, "daily_movements", "deposits", "withdrawals") == [
        ("EUR", 1, 10_000, 1, 1_500),
        ("USD", 1, 300, 0, 0),
    ]


def test_event_days_are_utc_days(
    stack: Stack, history: History, projectors: dict[str, Projector]
) -> None:
    days = {e.state()["timestamp"].date() for e in stored_events(stack, ACCOUNTS)}
    counted = rows(stack, "SELECT DISTINCT day FROM analytics_v1.daily_movements")

    assert {row["day"] for row in counted} <= days


@pytest.mark.parametrize("projection", READ_MODELS, ids=lambda p: p.name)
def test_a_redelivered_history_changes_nothing(
    stack: Stack, projectors: dict[str, Projector], projection: type[Projection]
) -> None:
    projector = projectors[projection.name]
    before = snapshot(stack, projection)
    skipped = projector.status.skipped_duplicates

    project(stack, projector)

    assert snapshot(stack, projection) == before
    total = sum(len(stored_events(stack, source)) for source in projection.sources)
    assert projector.status.skipped_duplicates - skipped == total


@pytest.mark.parametrize("projection", READ_MODELS, ids=lambda p: p.name)
def test_events_applied_again_past_a_lost_tracking_row_change_nothing(
    stack: Stack, projectors: dict[str, Projector], projection: type[Projection]
) -> None:
    """Each handler is idempotent on its own: notifications exactly once, balances and
    daily figures moved once, even if the tracking row were lost."""
    before = snapshot(stack, projection)
    with stack.admin() as conn:
        conn.execute(f"DELETE FROM {projection.versioned_schema()}.{TRACKING_TABLE}")

    project(stack, projectors[projection.name])

    assert snapshot(stack, projection) == before
