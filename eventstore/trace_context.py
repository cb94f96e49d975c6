"""The W3C trace context as the event log carries it: the `traceparent` stored with each
event and sent with each message. Read from, and written as, OpenTelemetry's context."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_W3C = TraceContextTextMapPropagator()


def active_traceparent() -> str | None:
    """The traceparent of the span active here; None outside any trace."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_from(headers: Mapping[str, str]) -> Context:
    """The trace context `headers` carry (an empty one when they carry none, or a bad one)."""
    return _W3C.extract(headers)


def span_context_of(context: Context) -> SpanContext:
    """The span context `context` holds (invalid when it holds none)."""
    return trace.get_current_span(context).get_span_context()


def write_traceparent(headers: MutableMapping[str, str], context: Context) -> None:
    """Set `headers`' traceparent to `context`'s (removed when it holds no valid span)."""
    headers.pop(TRACEPARENT, None)
    _W3C.inject(headers, context=context)
