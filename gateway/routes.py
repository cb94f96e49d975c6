"""The gateway's public surface: every route it forwards, by the service that answers it.

One table, checked against the apps' OpenAPI documents by tests/unit/test_gateway_config.py:
a route added to an app and not here is not reachable through the gateway, and the test
says so. Whatever is not here answers 404 at the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The payment steps (POST /accounts/{account_id}/debits, credits, refunds) are left out on
# purpose: only the saga calls them, directly, never through the public door.
PUBLIC_ROUTES: dict[str, tuple[str, ...]] = {
    "accounts-api": (
        "POST /accounts",
        "POST /accounts/{account_id}/deposits",
        "POST /accounts/{account_id}/withdrawals",
        "POST /accounts/{account_id}/freeze",
        "POST /accounts/{account_id}/unfreeze",
        "POST /accounts/{account_id}/close",
    ),
    "payments-api": ("POST /payments",),
    "account-summary-query-api": ("GET /accounts/{account_id}",),
    "account-statement-query-api": ("GET /accounts/{account_id}/statement",),
    "payments-query-api": ("GET /payments", "GET /payments/{payment_id}"),
    "notifications-query-api": ("GET /accounts/{account_id}/notifications",),
    "analytics-query-api": ("GET /analytics/daily",),
    "overview-api": ("GET /accounts/{account_id}/overview",),
}
# Creating a payment has a tighter rate limit of its own, on top of the caller's.
PAYMENT_CREATION = "POST /payments"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
PATH_PARAMETER = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class PublicRoute:
    """One method on one path template (`/accounts/{account_id}`), answered by `service`."""

    service: str
    method: str
    template: str

    @classmethod
    def parse(cls, service: str, route: str) -> PublicRoute:
        method, template = route.split(" ", 1)
        return cls(service, method, template)

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def path_regex(self) -> str:
        """The whole path (without its query) as an RE2 regex: a parameter is one segment."""
        parts = PATH_PARAMETER.split(self.template)
        return "^" + "[^/]+".join(re.escape(part) for part in parts) + "$"

    @property
    def request_regex(self) -> str:
        """The whole `:path` header, query string included."""
        return self.path_regex.removesuffix("$") + r"(\?.*)?$"

    @property
    def idempotent(self) -> bool:
        """Safe to retry as it is; a POST is only when it carries an Idempotency-Key."""
        return self.method in IDEMPOTENT_METHODS


# `paystream up --bench` only: a hello-world route on the query APIs' server stack, the
# baseline of `bench suite`'s query GET figure (api/bench_hello.py). Never in production.
BENCH_HELLO = "bench-hello"
BENCH_HELLO_ROUTE = PublicRoute(BENCH_HELLO, "GET", "/bench/hello")


def public_routes() -> list[PublicRoute]:
    """Every route of PUBLIC_ROUTES, service by service."""
    return [
        PublicRoute.parse(service, route)
        for service, routes in PUBLIC_ROUTES.items()
        for route in routes
    ]
