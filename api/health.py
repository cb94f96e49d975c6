"""/healthz (the process answers) and /readyz (it can do its work) for every service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from api.openapi_errors import problem_responses
from api.problem_types import INTERNAL_ERROR
from api.problems import Problem
from api.quiet_server import QuietServer
from api.service_app import service_app
from eventstore.outages import Outage, reason

log = logging.getLogger("paystream.health")

READY_TIMEOUT_SECONDS = 3.0

# What the service lacks to do its work right now ([] when ready), e.g.
# ["postgresql unreachable (OperationalError: ...)", "nats not connected"].
ReadyCheck = Callable[[], Awaitable[list[str]]]


async def missing_dependencies(ready: ReadyCheck) -> list[str]:
    """Run a readiness check, bounded in time; a check that fails names its failure."""
    try:
        return await asyncio.wait_for(ready(), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return [f"readiness check timed out after {READY_TIMEOUT_SECONDS:.0f}s"]
    except Exception as error:
        return [reason(error)]


def single_flight(ready: ReadyCheck) -> ReadyCheck:
    """Callers that ask while a check is running share it: checks stuck on an unreachable
    database (answered at the timeout) never pile up behind one another."""
    running: asyncio.Task[list[str]] | None = None

    async def shared() -> list[str]:
        nonlocal running
        if running is None or running.done():
            running = asyncio.ensure_future(ready())
            # A check that ends after its callers gave up still has its failure read.
            running.add_done_callback(lambda task: task.cancelled() or task.exception())
        return await asyncio.shield(running)

    return shared


def install_health(app: FastAPI, ready: ReadyCheck) -> None:
    """Add /healthz (the process answers) and /readyz (it has what it needs to work);
    /readyz answers 503 naming each missing dependency, logged as one outage."""
    outage = Outage(log, f"{app.title}: readiness")
    ready = single_flight(ready)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> ORJSONResponse:
        missing = await missing_dependencies(ready)
        if missing:
            outage.failed(RuntimeError("; ".join(missing)))
            raise Problem(
                503,
                "not-ready",
                "not ready: " + "; ".join(missing),
                headers={"Retry-After": "1"},
                extra={"missing": missing},
            )
        outage.recovered()
        return ORJSONResponse({"status": "ready"})


def worker_app(title: str, ready: ReadyCheck, status: Callable[[], object]) -> FastAPI:
    """The small HTTP face of a background worker: health, a status document and (from
    `service_app`) its /metrics."""
    app = service_app(title)
    install_health(app, ready)

    @app.get("/status", responses=problem_responses(INTERNAL_ERROR))
    def get_status() -> object:
        """The worker's progress."""
        return status()

    return app


class _WorkerServer(QuietServer):
    """A uvicorn server that leaves signal handling to the worker that embeds it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve `app` inside the running event loop until `stop` is set."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None)
    server = _WorkerServer(config)
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.stop_serving()
    await task
