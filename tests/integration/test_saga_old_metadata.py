"""A payment stored before the API checked metadata headers (its correlation id has
spaces) still completes: the saga sends its steps under the payment id instead of an
id the accounts API now refuses (which would turn a step into a refusal). The saga's
/metrics count each step done and the payment's duration, and nothing left in flight."""

from __future__ import annotations

from uuid import UUID

import pytest

from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from eventstore.metadata import CommandMetadata, command_metadata
from tests.support.metrics import Samples, scrape_url, value
from tests.support.stack import Stack, wait_until
from tests.support.workload import accounts_service

pytestmark = pytest.mark.integration
OLD_CORRELATION_ID = "order 42 (before the door)"


def step_correlation_ids(stack: Stack, payment_id: UUID) -> list[str]:
    """The correlation ids of the account events of the payment's steps."""
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    with stack.admin() as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb -> '__meta__' ->> 'correlation_id'"
            f" FROM {table} WHERE convert_from(state, 'UTF8')::jsonb ->> 'payment_id' = %s",
            (str(payment_id),),
        ).fetchall()
    return [str(row[0]) for row in rows]


def steps_done(samples: Samples) -> list[float]:
    steps = ("debit", "credit", "complete")
    return [
        value(samples, "paystream_saga_steps_total", {"step": step, "outcome": "done"})
        for step in steps
    ]


def test_a_payment_with_a_correlation_id_the_api_now_refuses_completes(stack: Stack) -> None:
    for name in ("relay-payments", "accounts-api", "saga"):
        stack.start(name)
    saga = stack.url("saga")
    before = scrape_url(saga)
    accounts = accounts_service(stack)
    source = accounts.open_account("Ada", "EUR").account_id
    destination = accounts.open_account("Bob", "EUR").account_id
    accounts.deposit(source, 1_000)
    payments = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=1))
    try:
        with command_metadata(CommandMetadata(correlation_id=OLD_CORRELATION_ID)):
            payment_id = payments.request_payment(
                str(source), str(destination), 250, "EUR", ""
            ).payment_id

        wait_until(
            lambda: payments.get_payment(payment_id).is_finished, 60, "the payment to finish"
        )

        assert payments.get_payment(payment_id).status == "completed"
    finally:
        payments.close()
    assert step_correlation_ids(stack, payment_id) == [str(payment_id)] * 2
    after = scrape_url(saga)
    assert steps_done(after) == [done + 1 for done in steps_done(before)]
    took = "paystream_saga_payment_duration_seconds_count"
    completed = {"outcome": "completed"}
    assert value(after, took, completed) == value(before, took, completed) + 1
    in_flight = "paystream_saga_payments_in_flight"
    wait_until(lambda: value(scrape_url(saga), in_flight) == 0, 10, "nothing in flight")
