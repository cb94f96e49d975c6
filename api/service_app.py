"""The FastAPI app every Paystream service starts from: orjson answers, every error as
problem+json and documented so, every request through the door's limits and logged
with its correlation and trace ids."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from api.openapi_errors import document_problems
from api.problems import install_problem_handlers
from api.request_limits import install_request_limits
from api.request_logging import RequestLogging

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(title: str, lifespan: Lifespan | None = None) -> FastAPI:
    """A new app titled `title` (its OpenAPI title), with the house's error answers,
    their documentation and the request limits installed once."""
    app = FastAPI(title=title, default_response_class=ORJSONResponse, lifespan=lifespan)
    install_problem_handlers(app)
    document_problems(app)
    install_request_limits(app)
    app.add_middleware(RequestLogging)  # outermost of ours: every refusal is logged too
    return app
