"""/metrics: the process's Prometheus metrics in the text exposition format, open like
/healthz (a scraper carries no token) and never routed by the public gateway."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    disable_created_metrics,
    generate_latest,
)
from starlette.responses import Response

from api.http_metrics import HttpMetrics
from eventstore.metrics_switch import metrics_on

PATH = "/metrics"

# No `_created` series beside each counter and histogram: they double the series and
# nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


def install_metrics(app: FastAPI) -> None:
    """Count and time every request to `app`, and serve the process's metrics at /metrics.

    The metrics live in the process's default registry, created once at import: apps built
    twice in one process (tests) share them rather than register them again. With
    metrics off (PAYSTREAM_METRICS) nothing is installed: no middleware, /metrics is 404."""
    if not metrics_on():
        return
    app.add_middleware(HttpMetrics)

    @app.get(PATH, include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
