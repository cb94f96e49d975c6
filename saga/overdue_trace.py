"""The trace and log ids of a payment the saga's sweeper drives again past its deadline.

Outside any message, the sweeper has no headers to continue: it continues the trace the
payment's latest event stored instead (its `traceparent`), in a span of its own, and
every log line made meanwhile carries that event's correlation id. So a payment finished
by the sweeper is still one trace, and its warnings name the request that started it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from eventstore.log_context import handling_event
from eventstore.trace_context import TRACEPARENT, context_from

TRACER_NAME = "paystream.saga"
SPAN_NAME = "drive overdue payment"


@contextmanager
def driving_overdue(payment_id: UUID, metadata: Mapping[str, Any]) -> Iterator[Span]:
    """The current span while the sweeper drives `payment_id`, whose latest event was
    stored with `metadata`: a child of that event's trace (a new trace when it has none)."""
    traceparent = metadata.get(TRACEPARENT)
    carrier = {TRACEPARENT: str(traceparent)} if traceparent else {}
    with (
        handling_event(metadata),
        trace.get_tracer(TRACER_NAME).start_as_current_span(
            SPAN_NAME,
            context=context_from(carrier),
            kind=SpanKind.INTERNAL,
            attributes={"paystream.payment_id": str(payment_id)},
        ) as span,
    ):
        yield span
