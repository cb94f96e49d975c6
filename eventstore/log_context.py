"""What every log line says about the work it was made for: the correlation id of the
request or event being handled, and the W3C trace and span ids in play.

The HTTP apps set it for each request (api/request_logging.py), the saga for each
message it handles, the projectors for each event they apply; scripts/service_logs.py
stamps it on each log line. When a span is active (tracing on: scripts/composition/
tracing.py), a line carries that span's trace and span ids instead of the ones the
request or message came with: the same trace, and the span the line was logged in.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from opentelemetry import trace

from eventstore.envelope import H_CORRELATION_ID, H_TRACEPARENT
from eventstore.metadata import trace_ids


@dataclass(frozen=True)
class LogContext:
    """The ids a log line carries; None where no request or event is being handled."""

    correlation_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


OUTSIDE_ANY_WORK = LogContext()
_current: contextvars.ContextVar[LogContext | None] = contextvars.ContextVar(
    "paystream_log_context", default=None
)


def current_log_context() -> LogContext:
    """The ids of the request or event being handled here; the trace and span ids of the
    active span when there is one."""
    context = _current.get() or OUTSIDE_ANY_WORK
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return context
    return replace(context, trace_id=f"{span.trace_id:032x}", span_id=f"{span.span_id:016x}")


def set_log_context(
    correlation_id: str | None, traceparent: str | None
) -> contextvars.Token[LogContext | None]:
    """Make the ids of this work the current ones; `reset_log_context` with the token undoes it."""
    trace_id, span_id = trace_ids(traceparent) or (None, None)
    return _current.set(LogContext(correlation_id, trace_id, span_id))


def reset_log_context(token: contextvars.Token[LogContext | None]) -> None:
    _current.reset(token)


@contextmanager
def log_context(correlation_id: str | None, traceparent: str | None) -> Iterator[LogContext]:
    """Every log line made inside the block carries these ids."""
    token = set_log_context(correlation_id, traceparent)
    try:
        yield current_log_context()
    finally:
        _current.reset(token)


@contextmanager
def handling_event(metadata: Mapping[str, Any]) -> Iterator[LogContext]:
    """Every log line made inside the block carries the ids of the event whose stored
    metadata (`EventEnvelope.metadata()`) this is."""
    correlation_id, traceparent = metadata.get("correlation_id"), metadata.get("traceparent")
    with log_context(
        str(correlation_id) if correlation_id else None,
        str(traceparent) if traceparent else None,
    ) as context:
        yield context


def handling_message(headers: Mapping[str, str]) -> AbstractContextManager[LogContext]:
    """Every log line made inside the block carries the ids of the event a relay's
    message carries (its headers hold the event's metadata ids)."""
    return log_context(headers.get(H_CORRELATION_ID), headers.get(H_TRACEPARENT))
