"""The Events page: a context's events newest first, filtered and a page at a time, each
with its payload and metadata; one aggregate's hash chain state when an aggregate is
asked for. The same reads as `paystream audit events` and `audit chain`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from console.audit_access import (
    BadInput,
    field_text,
    parse_time,
    parse_uuid,
    recorded_read,
)
from console.page_access import viewer
from console.pages import page
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from eventstore.audit_queries import AuditEvent, UnreadableEvent
from eventstore.contexts import CONTEXTS, Context
from eventstore.event_browsing import (
    MAX_PAGE,
    EventFilter,
    EventPage,
    chain_state,
    newest_events,
)
from eventstore.settings import DatabaseSettings
from scripts.cli.audit_inspect import json_bytes

PAGE_SIZE = 50  # events a page shows unless `limit` says otherwise
FIELDS = ("context", "aggregate_id", "event_type", "correlation_id", "since", "until")


@dataclass(frozen=True)
class ShownEvent:
    """An event as the page lists it, its payload and metadata as indented JSON."""

    event: AuditEvent
    payload: str
    metadata: str


def shown(event: AuditEvent) -> ShownEvent:
    return ShownEvent(event, pretty(event.payload), pretty(event.metadata))


def pretty(value: object) -> str:
    return json_bytes(value, indent=True).decode()


def events_url(**fields: Any) -> str:
    """The events page with these form fields (empty ones left out)."""
    query = urlencode({key: value for key, value in fields.items() if value not in (None, "")})
    return f"{PATH_PREFIX}/events" + (f"?{query}" if query else "")


def event_filter(form: dict[str, str | None]) -> EventFilter:
    """The form as a filter, or BadInput naming the first field that cannot be used."""
    where = EventFilter(
        aggregate_id=parse_uuid(text, "Aggregate") if (text := form["aggregate_id"]) else None,
        event_type=form["event_type"],
        correlation_id=form["correlation_id"],
        since=parse_time(form["since"], "Since"),
        until=parse_time(form["until"], "Until"),
    )
    if where.since and where.until and where.since > where.until:
        raise BadInput(f"Since {form['since']} is after until {form['until']}")
    return where


def readable_page(
    db: DatabaseSettings, context: Context, where: EventFilter, before: int | None, size: int
) -> tuple[EventPage, str]:
    """The page, or none and why: an event that does not decode is a finding to show
    beside the chain state (which names the link it broke), not an error page."""
    try:
        return newest_events(db, context, where, before, size), ""
    except UnreadableEvent as error:
        return EventPage([], None), " ".join(str(error).split())


def events_router(sessions: Sessions) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/events")
    def events(
        request: Request,
        context: str = "accounts",
        aggregate_id: str | None = None,
        event_type: str | None = None,
        correlation_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        before: str | None = None,
        limit: str | None = None,
    ) -> Response:
        """A context's events, newest first, filtered; an aggregate's chain state."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        texts = (context, aggregate_id, event_type, correlation_id, since, until)
        form = {name: field_text(value) for name, value in zip(FIELDS, texts, strict=True)}
        values: dict[str, Any] = {"title": "Events", "form": form, "contexts": list(CONTEXTS)}
        try:
            chosen = CONTEXTS.get(form["context"] or "")
            if chosen is None:
                raise BadInput(f"Context {context!r} is not one of {', '.join(CONTEXTS)}")
            where = event_filter(form)
            position = parse_position(before)
            size = parse_limit(limit)
        except BadInput as error:
            return page(request, "events.html", principal, 400, error=str(error), **values)
        arguments = {**form, "before": position, "limit": size}
        with recorded_read(principal, "audit events", arguments) as db:
            chain = chain_state(db, chosen, where.aggregate_id) if where.aggregate_id else None
            found, damaged = readable_page(db, chosen, where, position, size)
        kept = {**form, "limit": limit if size != PAGE_SIZE else None}
        older = events_url(**kept, before=found.next_before) if found.next_before else None
        newest = events_url(**kept) if position is not None else None
        return page(
            request,
            "events.html",
            principal,
            events=[shown(event) for event in found.events],
            chain=chain,
            damaged=damaged,
            older_url=older,
            newest_url=newest,
            **values,
        )

    return router


def parse_position(text: str | None) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise BadInput(f"Before {text!r} is not a position (1, 2, ...)")
    return int(text)


def parse_limit(text: str | None) -> int:
    if not text:
        return PAGE_SIZE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise BadInput(f"Limit {text!r} is not a number of events from 1 to {MAX_PAGE}")
    return int(text)
