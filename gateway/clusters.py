"""One Envoy cluster per public service: its replicas, health checks and bulkheads."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Endpoint = tuple[str, int]  # host (an IP or a DNS name) and port of one replica


@dataclass(frozen=True)
class Bulkhead:
    """Envoy's circuit breakers for one upstream: past these, requests are refused at once
    (503) rather than queued, so one slow service cannot hold the gateway's resources."""

    max_connections: int = 256
    max_pending_requests: int = 256
    max_requests: int = 512
    max_retries: int = 8


@dataclass(frozen=True)
class HealthCheck:
    """Active health checking on /readyz, and outlier ejection on consecutive 5xx."""

    interval_seconds: float = 5.0  # each check is a database round trip in the service
    timeout_seconds: float = 1.0
    unhealthy_threshold: int = 2
    healthy_threshold: int = 1
    consecutive_5xx: int = 5
    ejection_seconds: float = 10.0


@dataclass(frozen=True)
class Upstream:
    """A service's replicas (one or more) and its bulkhead."""

    endpoints: tuple[Endpoint, ...]
    bulkhead: Bulkhead = field(default_factory=Bulkhead)

    @property
    def resolved_by_dns(self) -> bool:
        """Names (compose's service names) are resolved by DNS; IP literals are static."""
        return not all(_is_ip(host) for host, _ in self.endpoints)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def seconds(value: float) -> str:
    """A protobuf Duration in its JSON form."""
    return f"{value:g}s"


def cluster(name: str, upstream: Upstream, health: HealthCheck | None) -> dict[str, Any]:
    """The cluster `name`: round robin over healthy replicas; none healthy answers 503.
    Without `health`, every replica is taken as healthy."""
    bulkhead = upstream.bulkhead
    found: dict[str, Any] = {
        "name": name,
        "type": "STRICT_DNS" if upstream.resolved_by_dns else "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        # Never send traffic to replicas known to be unhealthy, even when most are.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {"endpoint": {"address": address(host, port)}}
                        for host, port in upstream.endpoints
                    ]
                }
            ],
        },
        "circuit_breakers": {
            "thresholds": [
                {
                    "priority": "DEFAULT",
                    "max_connections": bulkhead.max_connections,
                    "max_pending_requests": bulkhead.max_pending_requests,
                    "max_requests": bulkhead.max_requests,
                    "max_retries": bulkhead.max_retries,
                }
            ]
        },
    }
    if health is None:
        return found
    return found | {
        "health_checks": [
            {
                "timeout": seconds(health.timeout_seconds),
                "interval": seconds(health.interval_seconds),
                # Checked as often before any traffic: a replica is known before it is used.
                "no_traffic_interval": seconds(health.interval_seconds),
                "unhealthy_threshold": health.unhealthy_threshold,
                "healthy_threshold": health.healthy_threshold,
                "http_health_check": {"path": "/readyz"},
            }
        ],
        "outlier_detection": {
            "consecutive_5xx": health.consecutive_5xx,
            "interval": seconds(health.interval_seconds),
            "base_ejection_time": seconds(health.ejection_seconds),
            "max_ejection_percent": 50,
        },
    }


def typed(message: str, **fields: Any) -> dict[str, Any]:
    """A typed_config: `message` is the proto's full name after `envoy.extensions.`."""
    return {"@type": f"type.googleapis.com/envoy.extensions.{message}", **fields}


def address(host: str, port: int) -> dict[str, Any]:
    """An Envoy socket address."""
    return {"socket_address": {"address": host, "port_value": port}}
