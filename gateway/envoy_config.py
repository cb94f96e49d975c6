"""The gateway's Envoy bootstrap, generated from the one service list.

`bootstrap(config)` returns the whole configuration as a dict (write it as JSON; Envoy
reads `.json` files): one public listener, a route per public route of
gateway/routes.py, a cluster per public service of scripts/devstack/services.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import replies
from gateway.clusters import HealthCheck, Upstream, address, cluster, seconds, typed
from gateway.console_route import CONSOLE_CLUSTER, console_route, console_token_rule
from gateway.rate_limits import RateLimits, client_ip_limit, subject_limit
from gateway.routes import BENCH_HELLO_ROUTE, PAYMENT_CREATION, PublicRoute, public_routes
from gateway.stats_listener import admin_cluster, stats_listener
from gateway.tokens import JwtIssuer, jwks_cluster, jwt_authn
from scripts.devstack.services import SERVICES

IDEMPOTENCY_HEADER = "idempotency-key"
RETRY_ON = "connect-failure,refused-stream,reset"


@dataclass(frozen=True)
class Timeouts:
    """Per route, by kind of service (a command may wait on the store and on locks), and
    the retries of idempotent requests: after a failed connection or a reset, and after
    an answer of `retried_statuses`. The route's timeout bounds every attempt together:
    a service's slow 503 (a consistency wait, the store's outage) retried may become a
    504 from the gateway; `retried_statuses=()` keeps such answers as they are."""

    command_seconds: float = 15.0
    query_seconds: float = 10.0
    retries: int = 2
    retried_statuses: tuple[int, ...] = (503,)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs: where it listens, its upstreams by service name,
    the token issuer, and its limits."""

    port: int
    admin_port: int
    upstreams: Mapping[str, Upstream]
    issuer: JwtIssuer
    host: str = "127.0.0.1"
    rate_limits: RateLimits = field(default_factory=RateLimits)
    health_check: HealthCheck = field(default_factory=HealthCheck)
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Where a scraper reads the gateway's metrics (gateway/stats_listener.py); None: only
    # on the admin interface, on loopback.
    stats_port: int | None = None
    # `paystream up --bench`'s hello-world service (BENCH_HELLO_ROUTE); None: no such route.
    bench_hello: Upstream | None = None
    # The console (gateway/console_route.py); None: no /console.
    console: Upstream | None = None


def public_services() -> list[str]:
    """The services the gateway routes to: every API of the service list."""
    return [spec.name for spec in SERVICES if spec.kind.endswith("-api")]


def local_upstreams(replicas: Mapping[str, list[int]] | None = None) -> dict[str, Upstream]:
    """Each public service on 127.0.0.1 at its port in the service list, or at the ports
    of its replicas when `replicas` names them (`paystream up`'s layout)."""
    ports = {spec.name: [spec.port] for spec in SERVICES} | dict(replicas or {})
    return {
        name: Upstream(tuple(("127.0.0.1", port) for port in ports[name]))
        for name in public_services()
    }


def bootstrap(config: GatewayConfig) -> dict[str, Any]:
    """The Envoy bootstrap for `config`; every public service needs an upstream."""
    missing = set(public_services()) - set(config.upstreams)
    if missing:
        raise ValueError(f"no upstream for {sorted(missing)}")
    clusters = [
        cluster(name, config.upstreams[name], config.health_check) for name in public_services()
    ]
    if config.bench_hello is not None:
        clusters.append(cluster(BENCH_HELLO_ROUTE.service, config.bench_hello, config.health_check))
    if config.console is not None:
        clusters.append(cluster(CONSOLE_CLUSTER, config.console, config.health_check))
    listeners, clusters = [_listener(config)], [*clusters, jwks_cluster(config.issuer)]
    if config.stats_port is not None:
        listeners.append(stats_listener(config.host, config.stats_port))
        clusters.append(admin_cluster(config.admin_port))
    return {
        "admin": {"address": address("127.0.0.1", config.admin_port)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def _listener(config: GatewayConfig) -> dict[str, Any]:
    """The public port: request ids, paths normalised, access log, problem replies, then
    the filters in order (client IP limit, token check, subject limit) and the routes."""
    filters = [
        client_ip_limit(config.rate_limits),
        jwt_authn(config.issuer, [console_token_rule()] if config.console else []),
        subject_limit(config.rate_limits, _payment_creation()),
        {
            "name": "envoy.filters.http.router",
            "typed_config": typed("filters.http.router.v3.Router"),
        },
    ]
    manager = typed(
        "filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="gateway",
        use_remote_address=True,
        generate_request_id=True,
        preserve_external_request_id=True,
        always_set_request_id_in_response=True,
        # Routes match the path as the services will read it: `..`, `//` and an escaped
        # slash could otherwise make a public route's path name another one.
        normalize_path=True,
        merge_slashes=True,
        path_with_escaped_slashes_action="REJECT_REQUEST",
        access_log=replies.access_log(),
        local_reply_config=replies.local_reply_config(),
        route_config={
            "name": "public",
            "virtual_hosts": [{"name": "paystream", "domains": ["*"], "routes": _routes(config)}],
        },
        http_filters=filters,
    )
    connection_manager = {"name": "envoy.filters.network.http_connection_manager"}
    return {
        "name": "public",
        "address": address(config.host, config.port),
        "filter_chains": [{"filters": [connection_manager | {"typed_config": manager}]}],
    }


def _payment_creation() -> PublicRoute:
    return next(route for route in public_routes() if route.name == PAYMENT_CREATION)


def _routes(config: GatewayConfig) -> list[dict[str, Any]]:
    """Per public route: a POST with an Idempotency-Key is retried, one without is not;
    the bench's hello-world route when the config has its service."""
    entries = []
    bench = [BENCH_HELLO_ROUTE] if config.bench_hello is not None else []
    for route in [*public_routes(), *bench]:
        if route.idempotent:
            entries.append(_route(route, config, retried=True))
        else:
            entries.append(_route(route, config, retried=True, header=IDEMPOTENCY_HEADER))
            entries.append(_route(route, config, retried=False))
    if config.console is not None:
        entries.append(console_route())
    return entries


def _route(
    route: PublicRoute, config: GatewayConfig, *, retried: bool, header: str | None = None
) -> dict[str, Any]:
    """One route entry: the method (and `header`, when given) on the path's regex."""
    headers: list[dict[str, Any]] = [{"name": ":method", "string_match": {"exact": route.method}}]
    if header:
        headers.append({"name": header, "present_match": True})
    command = any(s.name == route.service and s.kind == "command-api" for s in SERVICES)
    timeouts = config.timeouts
    timeout = timeouts.command_seconds if command else timeouts.query_seconds
    action: dict[str, Any] = {"cluster": route.service, "timeout": seconds(timeout)}
    if retried:
        action["retry_policy"] = _retry_policy(timeouts)
    return {
        "name": route.name + (" with key" if header else ""),
        "match": {"safe_regex": {"regex": route.path_regex}, "headers": headers},
        "route": action,
    }


def _retry_policy(timeouts: Timeouts) -> dict[str, Any]:
    """Retry a failed connection, a reset or a retried status, on another replica when
    there is one."""
    other_host = typed("retry.host.previous_hosts.v3.PreviousHostsPredicate")
    statuses = list(timeouts.retried_statuses)
    return {
        "retry_on": RETRY_ON + (",retriable-status-codes" if statuses else ""),
        "retriable_status_codes": statuses,
        "num_retries": timeouts.retries,
        "retry_host_predicate": [
            {"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": other_host}
        ],
        "host_selection_retry_max_attempts": 3,
        "retry_back_off": {"base_interval": "0.05s", "max_interval": "0.5s"},
    }
