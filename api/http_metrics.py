"""Every HTTP request a service answers, counted by route template, method and status, and
timed by route template and method (Prometheus). Labels are route templates such as
`/accounts/{account_id}`, never raw paths, so their number stays that of the routes."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from api.answered_status import StatusNoting
from eventstore.metrics_switch import Counter, Histogram

# A request answered before any route took it: no route matched (404), or the door
# refused it (413, 415); one label for all, told apart by status.
UNROUTED = "unrouted"
# A method label is one of these or "other": a client's made-up method is not a new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "paystream_http_requests_total",
    "HTTP requests answered, by route template, method and status (5xx are the errors).",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "paystream_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method.",
    ["route", "method"],
)


def route_template(scope: Scope) -> str:
    """The template of the route that answered, never the raw path."""
    return str(getattr(scope.get("route"), "path", UNROUTED))


class HttpMetrics:
    """ASGI middleware: count and time every HTTP request (an exception counts as 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, answer = time.perf_counter(), StatusNoting(send)
        try:
            await self.app(scope, receive, answer)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            REQUESTS.labels(route, method, str(answer.status)).inc()
            DURATION.labels(route, method).observe(time.perf_counter() - started)
