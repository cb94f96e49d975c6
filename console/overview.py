"""The Overview page: every service's readiness and traffic, the projections, the saga,
alarms first; its live part pushed to the browser as server-sent events.

Each event stream lasts STREAM_SECONDS and tells the browser to come back at once
(`retry`): a proxy's response timeout never cuts one, a stopping console never waits
long for one, and every reconnection checks the session again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from console.live_view import LayoutUnreadable, LiveView
from console.page_access import SIGN_IN, refused, viewer
from console.pages import TEMPLATES, page
from console.sessions import Sessions, may_use_console
from console.settings import PATH_PREFIX

REFRESH_SECONDS = 2
STREAM_SECONDS = 8.0  # below the gateway's 10 s route timeout
RECONNECT_MS = 250


def live_context(view: LiveView) -> dict[str, Any]:
    """What the live part shows now: the frame, or why there is none."""
    context: dict[str, Any] = {
        "refresh_seconds": REFRESH_SECONDS,
        "updated": time.strftime("%H:%M:%S", time.gmtime()),
    }
    try:
        shown = view.refresh()
        return context | {"frame": shown.frame, "dead_letters": shown.dead_letters, "problem": ""}
    except LayoutUnreadable as error:
        problem = f"The services cannot be listed: {error}"
        return context | {"frame": None, "dead_letters": {}, "problem": problem}


def server_sent(html: str, event: str | None = None) -> str:
    """One server-sent event carrying `html` (each line its own `data:` line)."""
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


def overview_router(
    view: LiveView, sessions: Sessions, stream_seconds: float = STREAM_SECONDS
) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/")
    def overview(request: Request) -> Response:
        """The overview, for operators and auditors; anyone else is refused, nobody is
        sent to sign in."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        return page(request, "overview.html", principal, title="Overview", **live_context(view))

    @router.get("/overview/live")
    def live(request: Request) -> Response:
        """The live part alone, for htmx; a lapsed session sends the page to sign in."""
        principal = viewer(request, sessions, fragment=True)
        if isinstance(principal, Response):
            return principal
        return page(request, "overview_live.html", principal, **live_context(view))

    @router.get("/overview/events")
    async def events(request: Request) -> Response:
        """The live part as server-sent events, every REFRESH_SECONDS for a while; a
        lapsed session is a `signin` event, and the page goes to sign in."""
        principal = sessions.principal(request)
        if principal is not None and not may_use_console(principal):
            return refused(request, principal)

        async def stream() -> AsyncIterator[str]:
            yield f"retry: {RECONNECT_MS}\n\n"
            if principal is None:
                yield server_sent(SIGN_IN, event="signin")
                return
            ends = time.monotonic() + stream_seconds
            while not await request.is_disconnected():
                context = await run_in_threadpool(live_context, view)
                values = {"prefix": PATH_PREFIX, "principal": principal, **context}
                yield server_sent(TEMPLATES.get_template("overview_live.html").render(values))
                if time.monotonic() + REFRESH_SECONDS > ends:
                    return
                await asyncio.sleep(REFRESH_SECONDS)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return router
