"""The Overview page: every service's readiness and traffic, the projections, the saga,
alarms first; its live part refreshed by htmx."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.live_view import LayoutUnreadable, LiveView
from console.pages import message, page
from console.sessions import Sessions, may_use_console
from console.settings import PATH_PREFIX
from identity.principal import Principal

REFRESH_SECONDS = 2
SIGN_IN = f"{PATH_PREFIX}/sign-in"


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


def refused(request: Request, principal: Principal) -> Response:
    roles = ", ".join(sorted(principal.roles)) or "no role"
    text = (
        f"The console is for operators and auditors; {principal.subject} is signed in as {roles}."
    )
    return message(request, principal, 403, "Not allowed", text)


def overview_router(view: LiveView, sessions: Sessions) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/")
    def overview(request: Request) -> Response:
        """The overview, for operators and auditors; anyone else is refused, nobody is
        sent to sign in."""
        principal = sessions.principal(request)
        if principal is None:
            return RedirectResponse(SIGN_IN, status_code=303)
        if not may_use_console(principal):
            return refused(request, principal)
        return page(request, "overview.html", principal, title="Overview", **live_context(view))

    @router.get("/overview/live")
    def live(request: Request) -> Response:
        """The live part alone, for htmx; a lapsed session sends the page to sign in."""
        principal = sessions.principal(request)
        if principal is None:
            return Response(status_code=401, headers={"HX-Redirect": SIGN_IN})
        if not may_use_console(principal):
            return refused(request, principal)
        return page(request, "overview_live.html", principal, **live_context(view))

    return router
