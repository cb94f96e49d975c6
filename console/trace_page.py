"""The Trace page: one request (a correlation id, or a payment's) as a timeline across
contexts, each event under the one that caused it, as `paystream audit trace` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from console.audit_access import (
    BadInput,
    DamagedStore,
    field_text,
    parse_uuid,
    recorded_read,
)
from console.events_page import events_url
from console.page_access import viewer
from console.pages import page
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from eventstore import audit_queries as queries
from eventstore.audit_queries import AuditEvent, TraceNode
from eventstore.contexts import PAYMENTS
from eventstore.settings import DatabaseSettings

# The payload fields a timeline shows; the full payload is one link away.
KEY_FIELDS = ("amount", "currency", "source", "destination", "account_id", "reason")


@dataclass(frozen=True)
class Step:
    """An event of the timeline, how deep in the causal tree, and its key fields."""

    event: AuditEvent
    depth: int
    fields: dict[str, Any]
    url: str


def timeline(roots: list[TraceNode]) -> list[Step]:
    """The trees depth first, each event after its cause (no recursion: chains may be long)."""
    steps: list[Step] = []
    pending = [(root, 0) for root in reversed(roots)]
    while pending:
        node, depth = pending.pop()
        event = node.event
        fields = {key: event.payload[key] for key in KEY_FIELDS if key in event.payload}
        url = events_url(context=event.context, aggregate_id=event.aggregate_id)
        steps.append(Step(event, depth, fields, url))
        pending += [(child, depth + 1) for child in reversed(node.children)]
    return steps


def payment_correlation(db: DatabaseSettings, payment_id: UUID) -> str | None:
    """The correlation id of the request that created the payment, if there is one."""
    first = next(iter(queries.aggregate_history(db, PAYMENTS, payment_id)), None)
    if first is None:
        return None
    return str(first.metadata.get("correlation_id") or "") or None


def trace_router(sessions: Sessions) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/trace")
    def trace(
        request: Request, correlation_id: str | None = None, payment_id: str | None = None
    ) -> Response:
        """A request's events as a timeline, found by correlation id or payment id."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        asked = {"correlation_id": field_text(correlation_id), "payment_id": field_text(payment_id)}
        values: dict[str, Any] = {"title": "Trace", "form": asked}
        try:
            payment = parse_uuid(text, "Payment") if (text := asked["payment_id"]) else None
        except BadInput as error:
            return page(request, "trace.html", principal, 400, error=str(error), **values)
        if payment is None and asked["correlation_id"] is None:
            return page(request, "trace.html", principal, steps=None, **values)
        try:
            with recorded_read(principal, "audit trace", asked) as db:
                correlation = asked["correlation_id"]
                if payment is not None:
                    correlation = payment_correlation(db, payment)
                events = queries.correlated_events(db, correlation) if correlation else []
        except DamagedStore as error:
            return page(request, "trace.html", principal, error=str(error), **values)
        steps = timeline(queries.causal_tree(events))
        return page(
            request, "trace.html", principal, steps=steps, correlation=correlation, **values
        )

    return router
