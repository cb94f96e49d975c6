"""/healthz (the process answers) and /readyz (it can do its work) for every service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from api.problems import Problem, install_problem_handlers

log = logging.getLogger("paystream.health")

ReadyCheck = Callable[[], bool] | Callable[[], Awaitable[bool]]


def install_health(app: FastAPI, ready: ReadyCheck) -> None:
    """Add /healthz and /readyz to `app`; `ready` says whether the service can work."""

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> ORJSONResponse:
        try:
            result = ready()
            is_ready = await result if asyncio.iscoroutine(result) else bool(result)
        except Exception as error:
            log.warning("not ready: %s", error)
            is_ready = False
        if not is_ready:
            raise Problem(
                503, "not-ready", "the service is not ready yet", headers={"Retry-After": "1"}
            )
        return ORJSONResponse({"status": "ready"})


def worker_app(title: str, ready: ReadyCheck, status: Callable[[], object]) -> FastAPI:
    """The small HTTP face of a background worker: health and a status document."""
    app = FastAPI(title=title, default_response_class=ORJSONResponse)
    install_problem_handlers(app)
    install_health(app, ready)

    @app.get("/status")
    def get_status() -> object:
        """The worker's progress."""
        return status()

    return app


class _WorkerServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the worker that embeds it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve `app` inside the running event loop until `stop` is set."""
    server = _WorkerServer(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
