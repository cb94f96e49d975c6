"""After a payments run: every account's summary, statement and notifications equal,
row for row, what the event store says they must be."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import httpx

from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from tests.support.payments_workload import Ledger
from tests.support.stack import Stack

# Money event -> (statement kind, sign of its amount there, notification kind or None).
MONEY_EVENTS = {
    "MoneyDeposited.v1": ("deposit", 1, "deposit"),
    "MoneyWithdrawn.v1": ("withdrawal", -1, "withdrawal"),
    "AccountDebited.v1": ("payment_debit", -1, "payment_sent"),
    "AccountCredited.v1": ("payment_credit", 1, "payment_received"),
    "AccountDebitRefunded.v1": ("payment_refund", 1, None),
}
STATE = "convert_from(state, 'UTF8')::jsonb"


def latest_tokens(stack: Stack) -> dict[str, str]:
    return {c.name: f"{c.name}:{stack.max_position(c)}" for c in (ACCOUNTS, PAYMENTS)}


def read_all(http: httpx.Client, path: str, token: str, items: str) -> list[dict[str, Any]]:
    """Every item of a paginated feed, following next_cursor, read at `token`."""
    collected: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = http.get(path, params=params, headers={"X-Consistency-Token": token})
        assert response.status_code == 200, response.text
        page = response.json()
        collected.extend(page[items])
        if page["next_cursor"] is None:
            return collected
        params["cursor"] = page["next_cursor"]


def expected_rows(stack: Stack) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, set[Any]]]:
    """Per account, from the event store: its statement entries, newest first, as
    (position, kind, amount, balance_after, payment_id); and its notifications as
    (id, kind, amount, payment_id, reason, refunded)."""
    statements: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
    notifications: defaultdict[str, set[Any]] = defaultdict(set)
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id::text, topic, ({STATE}->>'amount')::bigint,"
            f" {STATE}->>'payment_id' FROM {ACCOUNTS.schema}.{ACCOUNTS.events_table}"
            " WHERE topic = ANY(%s) ORDER BY notification_id",
            (list(MONEY_EVENTS),),
        ).fetchall()
        failed = conn.execute(
            f"SELECT notification_id, originator_id::text, {STATE}->>'source',"
            f" ({STATE}->>'amount')::bigint, {STATE}->>'reason', ({STATE}->>'refunded')::boolean"
            f" FROM {PAYMENTS.schema}.{PAYMENTS.events_table} WHERE topic = 'PaymentFailed.v1'"
        ).fetchall()
    balances: defaultdict[str, int] = defaultdict(int)
    for position, account, topic, amount, payment_id in rows:
        kind, sign, notification = MONEY_EVENTS[topic]
        balances[account] += sign * amount
        statements[account].append((position, kind, sign * amount, balances[account], payment_id))
        if notification:
            notifications[account].add(
                (f"accounts:{position}", notification, amount, payment_id, None, None)
            )
    for position, payment_id, source, amount, reason, refunded in failed:
        notifications[source].add(
            (f"payments:{position}", "payment_failed", amount, payment_id, reason, refunded)
        )
    return {a: entries[::-1] for a, entries in statements.items()}, notifications


def check_read_models_agree(stack: Stack, ledger: Ledger) -> None:
    tokens = latest_tokens(stack)
    statements, notifications = expected_rows(stack)
    accounts = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    with httpx.Client(timeout=30, headers=stack.auth()) as http:
        for account_id in ledger.accounts:
            folded = accounts.get_account(UUID(account_id))
            summary = http.get(
                f"{stack.url('account-summary-query-api')}/accounts/{account_id}",
                headers={"X-Consistency-Token": tokens["accounts"]},
            ).json()
            assert {
                k: summary[k] for k in ("owner", "currency", "balance", "status", "version")
            } == {
                "owner": folded.owner,
                "currency": folded.currency,
                "balance": folded.balance,
                "status": folded.status,
                "version": folded.version,
            }, account_id

            statement = read_all(
                http,
                f"{stack.url('account-statement-query-api')}/accounts/{account_id}/statement",
                tokens["accounts"],
                "entries",
            )
            assert [
                (e["position"], e["kind"], e["amount"], e["balance_after"], e["payment_id"])
                for e in statement
            ] == statements[account_id], account_id
            assert statement[0]["balance_after"] == folded.balance

            feeds = f"{stack.url('notifications-query-api')}/accounts/{account_id}/notifications"
            read_all(http, feeds, tokens["payments"], "notifications")  # caught up on payments
            feed = read_all(http, feeds, tokens["accounts"], "notifications")
            got = [
                (n["id"], n["kind"], n["amount"], n["payment_id"], n["reason"], n["refunded"])
                for n in feed
            ]
            assert sorted(got, key=str) == sorted(notifications[account_id], key=str), account_id
    accounts.close()
