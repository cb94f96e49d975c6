"""Each HTTP request's log context, and its one log line once answered.

The correlation id is the request's X-Correlation-Id when it is a valid one, else a new
one, which a command then stores with its events (api/metadata_headers.py); the trace
and span ids come from its `traceparent`. Every log line made while the request is
handled carries them, and a call to another API made meanwhile sends the same
correlation id. Probes and /metrics are not logged: they come every second.
"""

from __future__ import annotations

import logging
import time
from uuid import uuid4

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.answered_status import StatusNoting
from api.metadata_headers import CORRELATION_ID, TRACEPARENT, is_correlation_id
from eventstore.log_context import current_log_context, reset_log_context, set_log_context

log = logging.getLogger("paystream.requests")

UNLOGGED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def correlation_of(headers: Headers) -> str:
    """The request's own correlation id, if it sent one valid one; else a new one."""
    sent = headers.getlist(CORRELATION_ID)
    if len(sent) == 1 and is_correlation_id(sent[0]):
        return sent[0]
    return str(uuid4())


def correlation_header() -> dict[str, str]:
    """X-Correlation-Id for a call to another API made while handling a request: the
    request's own, so the lines that call causes carry it too."""
    correlation_id = current_log_context().correlation_id
    return {CORRELATION_ID: correlation_id} if correlation_id else {}


class RequestLogging:
    """ASGI middleware: the request's ids for every log line made while it is handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = set_log_context(correlation_of(headers), headers.get(TRACEPARENT))
        started, answer = time.perf_counter(), StatusNoting(send)
        try:
            await self.app(scope, receive, answer)
        except BaseException:
            # The ids stay set: the server logs the traceback after this, in the task it
            # runs this one request in, and that line belongs to the request too.
            log_answered(scope, 500, started)
            raise
        log_answered(scope, answer.status, started)
        reset_log_context(token)


def log_answered(scope: Scope, status: int, started: float) -> None:
    path = scope["path"]
    if path in UNLOGGED_PATHS:
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "%s %s %d",
        scope["method"],
        path,
        status,
        extra={"status": status, "duration_ms": duration_ms},
    )
