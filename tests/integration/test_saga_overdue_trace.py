"""A payment the saga's sweeper drives again (past its deadline, outside any message)
stays in the trace of the request that made it, and what the saga logs meanwhile carries
the payment's correlation id: in process, on the real database and accounts API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from uuid import UUID

import pytest
import stamina

from domains.payments.application import PaymentsService
from eventstore.contexts import PAYMENTS, application_env
from eventstore.metadata import CommandMetadata, command_metadata, trace_ids
from saga.accounts_client import AccountsClient
from saga.overdue_trace import SPAN_NAME
from saga.worker import PaymentSaga
from scripts.service_logs import LogContextFilter
from tests.support.issuer import Bearer, saga_token
from tests.support.recorded_spans import recorded_spans
from tests.support.stack import Stack
from tests.support.workload import accounts_service

pytestmark = pytest.mark.integration

REQUEST = "00-5ca1ab1e0000000000000000000000c1-00000000000000c2-01"
CORRELATION = "overdue-trace-test"


@pytest.fixture
def payments(stack: Stack) -> Iterator[PaymentsService]:
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    try:
        yield service
    finally:
        service.close()


def requested_payment(stack: Stack, payments: PaymentsService) -> UUID:
    """A payment of 3 between two new accounts (the first funded), requested in the
    trace REQUEST under the correlation id CORRELATION."""
    accounts = accounts_service(stack)
    try:
        source = accounts.open_account("overdue source", "EUR").account_id
        destination = accounts.open_account("overdue destination", "EUR").account_id
        accounts.deposit(source, 10)
    finally:
        accounts.close()
    metadata = CommandMetadata(correlation_id=CORRELATION, traceparent=REQUEST)
    with command_metadata(metadata):
        result = payments.request_payment(str(source), str(destination), 3, "EUR", "")
    return result.payment_id


def drive_overdue(stack: Stack, payments: PaymentsService, token: str, payment_id: UUID) -> bool:
    async def drive() -> bool:
        accounts = AccountsClient(stack.url_of("accounts-api"), Bearer(token))
        saga = PaymentSaga(payments, accounts, stack.db.role_conninfo(PAYMENTS.role), "")
        try:
            return await saga.drive_overdue(payment_id)
        finally:
            await accounts.close()

    return asyncio.run(drive())


def test_a_payment_driven_by_the_sweeper_stays_in_its_requests_trace(
    stack: Stack, payments: PaymentsService
) -> None:
    stack.start_all(("accounts-api",))
    payment_id = requested_payment(stack, payments)

    with recorded_spans() as spans:
        finished = drive_overdue(
            stack, payments, saga_token(stack.issuer_dir, stack.url_of("issuer")), payment_id
        )

    assert finished
    payment = payments.get_payment(payment_id)
    assert payment.status == "completed"
    [span] = [s for s in spans.get_finished_spans() if s.name == SPAN_NAME]
    request_trace, request_span = trace_ids(REQUEST) or ("", "")
    assert span.parent is not None
    assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (
        request_trace,
        request_span,
    )
    assert span.attributes == {"paystream.payment_id": str(payment_id)}
    completed = payments.event_origin(payment_id, payment.version)
    assert completed is not None
    assert completed.metadata["correlation_id"] == CORRELATION
    assert (trace_ids(completed.metadata["traceparent"]) or ("",))[0] == request_trace


def test_a_payment_the_sweeper_cannot_finish_is_reported_with_its_correlation_id(
    stack: Stack, payments: PaymentsService, caplog: pytest.LogCaptureFixture
) -> None:
    stack.start_all(("accounts-api",))
    payment_id = requested_payment(stack, payments)
    caplog.handler.addFilter(LogContextFilter())

    with stamina.set_testing(True), caplog.at_level(logging.WARNING, "paystream.saga"):
        finished = drive_overdue(stack, payments, "not-a-token", payment_id)

    assert not finished
    assert payments.get_payment(payment_id).status == "requested"
    [report] = [r for r in caplog.records if "overdue attempts" in r.getMessage()]
    assert str(payment_id) in report.getMessage()
    assert vars(report)["correlation_id"] == CORRELATION
    assert vars(report)["trace_id"] == (trace_ids(REQUEST) or ("",))[0]
