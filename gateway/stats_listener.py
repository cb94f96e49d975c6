"""The gateway's own metrics for a scraper in another container: a listener that serves
one path, Envoy's `/stats/prometheus`, from the admin interface. The admin interface
itself stays on loopback (it can also reconfigure and stop the gateway)."""

from __future__ import annotations

from typing import Any

from gateway.clusters import address, typed

STATS_PATH = "/stats/prometheus"
STATS_PORT = 9902  # where compose's Prometheus scrapes the gateway (not published)
ADMIN_CLUSTER = "envoy_admin"


def admin_cluster(admin_port: int) -> dict[str, Any]:
    """The gateway's own admin interface, on loopback, as an upstream."""
    endpoint = {"endpoint": {"address": address("127.0.0.1", admin_port)}}
    return {
        "name": ADMIN_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": ADMIN_CLUSTER,
            "endpoints": [{"lb_endpoints": [endpoint]}],
        },
    }


def stats_listener(host: str, port: int) -> dict[str, Any]:
    """GET `STATS_PATH` on `host:port` answered by the admin interface; anything else 404."""
    stats = {
        "match": {
            "path": STATS_PATH,
            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
        },
        "route": {"cluster": ADMIN_CLUSTER, "timeout": "5s"},
    }
    refused = {"match": {"prefix": "/"}, "direct_response": {"status": 404}}
    manager = typed(
        "filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="stats",
        route_config={
            "name": "stats",
            "virtual_hosts": [{"name": "stats", "domains": ["*"], "routes": [stats, refused]}],
        },
        http_filters=[
            {
                "name": "envoy.filters.http.router",
                "typed_config": typed("filters.http.router.v3.Router"),
            }
        ],
    )
    connection_manager = {"name": "envoy.filters.network.http_connection_manager"}
    return {
        "name": "stats",
        "address": address(host, port),
        "filter_chains": [{"filters": [connection_manager | {"typed_config": manager}]}],
    }
