"""The FastAPI app every Paystream service starts from: orjson answers, every error as
problem+json and documented so, every request through the door's limits, counted and
timed (/metrics) and logged with its correlation and trace ids."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from api.metrics_endpoint import install_metrics
from api.openapi_errors import document_problems
from api.problems import install_problem_handlers
from api.request_limits import install_request_limits
from api.request_logging import RequestLogging

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(title: str, lifespan: Lifespan | None = None) -> FastAPI:
    """A new app titled `title` (its OpenAPI title), with the house's error answers,
    their documentation, the request limits and the metrics installed once."""
    app = FastAPI(title=title, default_response_class=ORJSONResponse, lifespan=lifespan)
    install_problem_handlers(app)
    document_problems(app)
    install_request_limits(app)
    install_metrics(app)  # counts the limits' refusals too
    app.add_middleware(RequestLogging)  # outermost of ours: every refusal is logged too
    return app
