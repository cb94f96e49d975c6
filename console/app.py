"""The console app of `paystream serve console`: sign-in, the overview, its static files,
and a readable page instead of any unexpected error."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from api.health import install_health
from console.accounts_page import accounts_router
from console.audit_page import audit_router
from console.events_page import events_router
from console.live_parts import STREAM_SECONDS
from console.live_view import LiveView
from console.oidc_client import OidcClient
from console.overview import overview_router
from console.pages import message
from console.projections_page import projections_router
from console.rebuild_runs import RebuildRuns
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from console.sign_in import sign_in_router
from console.trace_page import trace_router
from console.verify_runs import VerifyRuns

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


async def ready() -> list[str]:
    return []


def create_console_app(
    oidc: OidcClient, sessions: Sessions, view: LiveView, stream_seconds: float = STREAM_SECONDS
) -> FastAPI:
    """The console, under PATH_PREFIX; it keeps nothing but what its cookies carry."""
    app = FastAPI(title="console", docs_url=None, redoc_url=None, openapi_url=None)
    install_health(app, ready)
    app.mount(f"{PATH_PREFIX}/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(sign_in_router(oidc, sessions))
    app.include_router(overview_router(view, sessions, stream_seconds))
    app.include_router(projections_router(sessions, RebuildRuns(), stream_seconds))
    app.include_router(audit_router(sessions, VerifyRuns(), stream_seconds))
    app.include_router(events_router(sessions))
    app.include_router(trace_router(sessions))
    app.include_router(accounts_router(sessions, view.data_dir))

    @app.get(PATH_PREFIX, include_in_schema=False)
    def console_root() -> Response:
        return RedirectResponse(f"{PATH_PREFIX}/", status_code=308)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("the console failed to answer %s", request.url.path)
        text = "Something went wrong on our side; it has been logged. Try again in a moment."
        return message(request, None, 500, "Error", text, action=(f"{PATH_PREFIX}/", "Overview"))

    return app
