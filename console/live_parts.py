"""A page's live part pushed to the browser as server-sent events: one implementation
for every live page (the Overview, Projections, Audit), one script (static/live.js).

Each event stream lasts STREAM_SECONDS and tells the browser to come back at once
(`retry`): a proxy's response timeout never cuts one, a stopping console never waits
long for one, and every reconnection checks the session again (a lapsed one is a
`signin` event, and the page goes to sign in)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from console.page_access import SIGN_IN, refused, viewer
from console.pages import TEMPLATES, page
from console.sessions import Sessions, may_use_console
from console.settings import PATH_PREFIX
from identity.principal import Principal

STREAM_SECONDS = 8.0  # below the gateway's 10 s route timeout
RECONNECT_MS = 250


@dataclass(frozen=True)
class LivePart:
    """A page's live part: where its routes are (`base`, under PATH_PREFIX), its
    template, what it shows the signed-in person now, and how often it is pushed."""

    base: str
    template: str
    shows: Callable[[Principal], Awaitable[dict[str, Any]]]
    refresh_seconds: int

    async def now(self, principal: Principal) -> dict[str, Any]:
        """The template's values now: what it shows, when, and where its events are."""
        return (await self.shows(principal)) | {
            "refresh_seconds": self.refresh_seconds,
            "updated": time.strftime("%H:%M:%S", time.gmtime()),
            "events_url": f"{PATH_PREFIX}{self.base}/events",
        }


def server_sent(html: str, event: str | None = None) -> str:
    """One server-sent event carrying `html` (each line its own `data:` line)."""
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


async def pushed(
    request: Request, part: LivePart, principal: Principal | None, stream_seconds: float
) -> AsyncIterator[str]:
    """The live part every `refresh_seconds` for `stream_seconds`; for no session, a
    `signin` event."""
    yield f"retry: {RECONNECT_MS}\n\n"
    if principal is None:
        yield server_sent(SIGN_IN, event="signin")
        return
    ends = time.monotonic() + stream_seconds
    while not await request.is_disconnected():
        values = {"prefix": PATH_PREFIX, "principal": principal, **await part.now(principal)}
        yield server_sent(TEMPLATES.get_template(part.template).render(values))
        if time.monotonic() + part.refresh_seconds > ends:
            return
        await asyncio.sleep(part.refresh_seconds)


def add_live_routes(
    router: APIRouter, part: LivePart, sessions: Sessions, stream_seconds: float
) -> None:
    """`<base>/live`, the live part alone, and `<base>/events`, it pushed as events."""

    @router.get(f"{part.base}/live")
    async def live(request: Request) -> Response:
        """The live part alone; a lapsed session is a 401 naming where to sign in."""
        principal = viewer(request, sessions, fragment=True)
        if isinstance(principal, Response):
            return principal
        return page(request, part.template, principal, **await part.now(principal))

    @router.get(f"{part.base}/events")
    async def events(request: Request) -> Response:
        """The live part as server-sent events; a lapsed session is a `signin` event."""
        principal = sessions.principal(request)
        if principal is not None and not may_use_console(principal):
            return refused(request, principal)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        stream = pushed(request, part, principal, stream_seconds)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
