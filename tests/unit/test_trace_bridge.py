"""The traceparent is the bridge between a request, its stored events and their messages:
an append stores the active span's, a consumer's span continues (or links to) the trace
its messages carry."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from eventstore.message_spans import consuming
from eventstore.metadata import CommandMetadata
from eventstore.trace_context import active_traceparent, context_from
from tests.support.recorded_spans import recorded_spans

REQUEST = "00-5ca1ab1e00000000000000000000000a-00000000000000a1-01"
OTHER = "00-5ca1ab1e00000000000000000000000b-00000000000000b1-01"


def headers(*traceparents: str) -> list[dict[str, str]]:
    return [{"traceparent": traceparent} for traceparent in traceparents]


@pytest.fixture
def spans() -> object:
    with recorded_spans() as exporter:
        yield exporter


def test_an_event_stored_outside_any_span_keeps_the_requests_traceparent() -> None:
    stored = CommandMetadata(traceparent=REQUEST).stored_form()

    assert stored["traceparent"] == REQUEST


def test_an_event_stored_inside_a_span_continues_its_trace(spans: InMemorySpanExporter) -> None:
    with trace.get_tracer("test").start_as_current_span("POST /payments") as span:
        stored = CommandMetadata(traceparent=REQUEST).stored_form()

    ids = span.get_span_context()
    assert (
        stored["traceparent"] == f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
    )


def test_without_a_tracer_provider_a_consumer_passes_the_messages_trace_on() -> None:
    with consuming(headers(REQUEST, REQUEST), "payment_saga", "PAYMENTS"):
        assert active_traceparent() == REQUEST
        assert CommandMetadata().stored_form()["traceparent"] == REQUEST


def test_messages_of_one_trace_are_handled_in_a_child_of_it(spans: InMemorySpanExporter) -> None:
    with consuming(headers(REQUEST, REQUEST), "payment_saga", "PAYMENTS") as span:
        assert active_traceparent() != REQUEST  # the consumer's own span, in the same trace

    (ended,) = spans.get_finished_spans()
    parent = trace.get_current_span(context_from(headers(REQUEST)[0])).get_span_context()
    assert ended.context == span.get_span_context()
    assert ended.kind is SpanKind.CONSUMER and ended.name == "process payment_saga"
    assert ended.parent == parent and ended.context.trace_id == parent.trace_id
    assert ended.attributes == {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": "PAYMENTS",
        "messaging.consumer.group.name": "payment_saga",
        "messaging.batch.message_count": 2,
    }


def test_messages_of_several_traces_start_a_new_one_linked_to_each(
    spans: InMemorySpanExporter,
) -> None:
    with consuming([*headers(REQUEST, OTHER), {}], "account_summary_v2", "ACCOUNTS"):
        pass

    (ended,) = spans.get_finished_spans()
    linked = [(link.context.trace_id, link.context.span_id) for link in ended.links]
    assert ended.parent is None
    assert ended.context.trace_id not in {trace_id for trace_id, _ in linked}
    assert linked == [
        (0x5CA1AB1E00000000000000000000000A, 0xA1),
        (0x5CA1AB1E00000000000000000000000B, 0xB1),
    ]


def test_messages_without_a_traceparent_start_a_trace_of_their_own(
    spans: InMemorySpanExporter,
) -> None:
    with consuming([{}, {"traceparent": "not-a-traceparent"}], "analytics_v1", "ACCOUNTS"):
        pass

    (ended,) = spans.get_finished_spans()
    assert ended.parent is None and list(ended.links) == []


def test_a_handler_that_raises_leaves_its_span_failed(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ConnectionError), consuming(headers(REQUEST), "payments_v2", "PAYMENTS"):
        raise ConnectionError("lost the database")

    (ended,) = spans.get_finished_spans()
    assert ended.status.status_code is StatusCode.ERROR
    assert [event.name for event in ended.events] == ["exception"]
