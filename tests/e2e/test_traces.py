"""One payment, one trace: from the gateway through the payments API, its append, the
relay, the saga, each accounts step and the projectors, as the services export it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.consistency import HEADER as CONSISTENCY_HEADER
from eventstore.contexts import PAYMENTS
from tests.support.accounts_client import open_account
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support.stack import Stack, StackGateway, wait_until

pytestmark = pytest.mark.e2e

TRACE_ID = "5ca1ab1e0000000000000000000c0ffe"
CALLER_SPAN_ID = "00000000000000aa"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
# Each hop of a payment, as (service, span kind); at least one projector joins the trace.
HOPS = (
    ("payments-api", "SERVER"),
    ("relay-payments", "PRODUCER"),
    ("saga", "CONSUMER"),
    ("accounts-api", "SERVER"),
    ("relay-accounts", "PRODUCER"),
)


@pytest.fixture(scope="module")
def client(stack: Stack, public_gateway: StackGateway) -> Iterator[httpx.Client]:
    """A customer's client of the gateway."""
    with httpx.Client(base_url=public_gateway.url, headers=stack.auth("tracy"), timeout=30) as made:
        yield made


def pay_traced(client: httpx.Client) -> None:
    """Open two accounts, fund one, and pay from it under TRACEPARENT."""
    source, destination = open_account(client, "Tracy"), open_account(client, "Tracy's savings")
    deposit = client.post(f"/accounts/{source}/deposits", json={"amount": 5000})
    assert deposit.status_code == 200, deposit.text
    body = {"source": source, "destination": destination, "amount": 700, "currency": "EUR"}
    headers = {CONSISTENCY_HEADER: deposit.headers[CONSISTENCY_HEADER], "traceparent": TRACEPARENT}
    accepted = client.post("/payments", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text


def of_the_payment(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """The payment's trace, and the spans of other traces linked to one of its spans."""
    return [s for s in spans if s.trace_id == TRACE_ID or any(t == TRACE_ID for t, _ in s.links)]


def covers_every_hop(spans: list[ReceivedSpan]) -> bool:
    kinds = {(s.service, s.kind) for s in spans}
    projected = any(s.service.startswith("projector-") and s.kind == "CONSUMER" for s in spans)
    return projected and all(hop in kinds for hop in HOPS)


def complete(spans: list[ReceivedSpan]) -> bool:
    """Every hop is there, and so is every span of the trace that another names as its
    parent or links to (the caller's own span aside)."""
    ids = {s.span_id for s in spans if s.trace_id == TRACE_ID} | {CALLER_SPAN_ID}
    named = {s.parent_id for s in spans if s.trace_id == TRACE_ID and s.parent_id}
    named |= {linked for s in spans for t, linked in s.links if t == TRACE_ID}
    return covers_every_hop(spans) and named <= ids


def lineage(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    """`span` and its ancestors in the trace, nearest first."""
    chain = [span]
    while chain[-1].parent_id in by_id:
        chain.append(by_id[chain[-1].parent_id])
    return chain


def services_on_the_way(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    """The services `span`'s lineage passes through, earliest first, each once in a row."""
    services = [s.service for s in reversed(lineage(span, by_id))]
    return [name for i, name in enumerate(services) if i == 0 or services[i - 1] != name]


def test_a_payment_is_one_trace_through_every_service(
    client: httpx.Client, otlp_receiver: OtlpReceiver
) -> None:
    pay_traced(client)

    wait_until(
        lambda: complete(of_the_payment(otlp_receiver.spans())),
        60,
        "spans of every hop of the payment, and of every span they name",
    )
    spans = of_the_payment(otlp_receiver.spans())
    in_trace = {s.span_id: s for s in spans if s.trace_id == TRACE_ID}
    # The gateway passed the caller's traceparent on: the payments API continues it.
    entry = next(s for s in in_trace.values() if s.service == "payments-api" and s.kind == "SERVER")
    assert entry.parent_id == CALLER_SPAN_ID
    # Its append is in the trace, under the request: the lock of the events table the
    # library takes for every insert, then the events' chained hashes beside them.
    queries = [s.statement() for s in in_trace.values() if s.parent_id == entry.span_id]
    assert any(sql.startswith("LOCK TABLE") and PAYMENTS.events_table in sql for sql in queries)
    assert any(f'INSERT INTO "{PAYMENTS.schema}"."event_hashes"' in sql for sql in queries)
    # Each hop descends from the one before it, and no span starts before its parent.
    step = next(s for s in in_trace.values() if s.service == "accounts-api" and s.kind == "SERVER")
    assert services_on_the_way(step, in_trace)[:4] == [
        "payments-api",
        "relay-payments",
        "saga",
        "accounts-api",
    ]
    published = [s for s in in_trace.values() if s.service == "relay-accounts"]
    assert any("accounts-api" in services_on_the_way(s, in_trace) for s in published)
    for span in in_trace.values():
        if span.parent_id in in_trace:
            assert in_trace[span.parent_id].start_ns <= span.start_ns, span
    # A projector applies the events: in the trace, after a relay's publish, or linked to it.
    projected = [s for s in spans if s.service.startswith("projector-") and s.kind == "CONSUMER"]
    for span in projected:
        if span.trace_id == TRACE_ID:
            assert in_trace[span.parent_id].kind == "PRODUCER", span
        else:
            assert any(
                in_trace[linked].kind == "PRODUCER" for t, linked in span.links if t == TRACE_ID
            )
