"""The Overview page: every service's readiness and traffic, the projections, the saga,
alarms first; its live part pushed to the browser as server-sent events
(console/live_parts.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from console.live_parts import STREAM_SECONDS, LivePart, add_live_routes
from console.live_view import LayoutUnreadable, LiveView
from console.page_access import viewer
from console.pages import page
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from identity.principal import Principal

REFRESH_SECONDS = 2


def live_context(view: LiveView) -> dict[str, Any]:
    """What the live part shows now: the frame, or why there is none."""
    try:
        shown = view.refresh()
        return {"frame": shown.frame, "dead_letters": shown.dead_letters, "problem": ""}
    except LayoutUnreadable as error:
        problem = f"The services cannot be listed: {error}"
        return {"frame": None, "dead_letters": {}, "problem": problem}


def overview_router(
    view: LiveView, sessions: Sessions, stream_seconds: float = STREAM_SECONDS
) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    async def shows(_: Principal) -> dict[str, Any]:
        return await run_in_threadpool(live_context, view)  # top's scrapes block

    part = LivePart("/overview", "overview_live.html", shows, REFRESH_SECONDS)

    @router.get("/")
    async def overview(request: Request) -> Response:
        """The overview, for operators and auditors; anyone else is refused, nobody is
        sent to sign in."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        context = await part.now(principal)
        return page(request, "overview.html", principal, title="Overview", **context)

    add_live_routes(router, part, sessions, stream_seconds)
    return router
