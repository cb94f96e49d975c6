"""Spans for the event log's messages, which nats-py does not trace: the relay's publish
of each event (PRODUCER) and a consumer's handling of each group of messages (CONSUMER).

The event's stored traceparent is the bridge. The publish span continues the trace of
the request that stored the event, and the message carries the publish span's context;
a consumer's span continues from there, so the work it does (its appends, its HTTP
calls) joins the same trace. With no tracer provider set up, no span is recorded and the
stored traceparent passes through unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from nats.js.api import PubAck
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from eventstore.envelope import H_MSG_ID
from eventstore.trace_context import context_from, span_context_of, write_traceparent

TRACER_NAME = "paystream.eventstore"

Publish = Callable[..., Awaitable["asyncio.Future[PubAck]"]]


async def publish_traced(
    publish: Publish, subject: str, body: bytes, headers: dict[str, str]
) -> asyncio.Future[PubAck]:
    """`publish(subject, body, headers=headers)` (JetStream's publish_async) in a PRODUCER
    span continuing the trace in `headers`, which then carry the span's own context. The
    span ends with the server's acknowledgement, as an error if there is none."""
    span = trace.get_tracer(TRACER_NAME).start_span(
        f"publish {subject}",
        context=context_from(headers),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "send",
            "messaging.destination.name": subject,
            "messaging.message.id": headers.get(H_MSG_ID, ""),
        },
    )
    write_traceparent(headers, trace.set_span_in_context(span))
    try:
        future = await publish(subject, body, headers=headers)
    except BaseException as error:
        end_publish(span, error)
        raise
    future.add_done_callback(lambda done: end_publish(span, outcome(done)))
    return future


def outcome(done: asyncio.Future[PubAck]) -> BaseException | None:
    """A finished publish's error (cancelled: never acknowledged), or None."""
    return asyncio.CancelledError("never acknowledged") if done.cancelled() else done.exception()


def end_publish(span: Span, error: BaseException | None) -> None:
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


@contextmanager
def consuming(headers: Sequence[Mapping[str, str]], durable: str, stream: str) -> Iterator[Span]:
    """The current span while a consumer handles messages (with these `headers`): a child
    of their trace when they all belong to one, else the start of a new trace linked to
    each of them."""
    contexts = [context_from(each) for each in headers]
    pairs = [(context, span_context_of(context)) for context in contexts]
    traced = [(context, span) for context, span in pairs if span.is_valid]
    one_trace = len({span.trace_id for _, span in traced}) == 1
    parent = traced[0][0] if one_trace else Context()
    links = [] if one_trace else [Link(span) for _, span in traced]
    with trace.get_tracer(TRACER_NAME).start_as_current_span(
        f"process {durable}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": stream,
            "messaging.consumer.group.name": durable,
            "messaging.batch.message_count": len(headers),
        },
    ) as span:
        yield span
