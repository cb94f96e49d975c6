"""The shape of every command API: one application service, routers, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request

from api.authentication import include_authenticated, install_token_verifier
from api.health import install_health
from api.service_app import service_app
from domains.service import CommandService
from eventstore.probes import database_missing
from identity.verifier import TokenVerifier


async def get_service(request: Request) -> CommandService:
    """The app's application service: the dependency of every command route (each API
    annotates it with its own service type). Async, as it does no I/O: a sync dependency
    would take a worker thread to return an attribute."""
    service: CommandService = request.app.state.service
    return service


def create_command_app(
    title: str,
    service_factory: Callable[[], CommandService],
    routers: Sequence[APIRouter],
    verifier: TokenVerifier,
) -> FastAPI:
    """A FastAPI app whose routes use `request.app.state.service`, each for callers whose
    token `verifier` accepts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = service_factory()
        yield
        app.state.service.close()

    app = service_app(title, lifespan)
    install_token_verifier(app, verifier)
    for router in routers:
        include_authenticated(app, router)

    async def ready() -> list[str]:
        service: CommandService | None = getattr(app.state, "service", None)
        if service is None:
            return ["application service (starting)"]
        return await database_missing(lambda: asyncio.to_thread(service.ping))

    install_health(app, ready)
    return app
