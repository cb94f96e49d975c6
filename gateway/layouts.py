"""Where the gateway runs and what it reaches: `paystream up`'s layout (every replica on
127.0.0.1 at a port of its own) and compose.yaml's (each service by its name, resolved by
DNS, so `docker compose up --scale accounts-api=3` is balanced over the three).

compose.yaml's Envoy reads deploy/envoy.json, written by `paystream gateway config
--compose` from `compose_bootstrap()`; tests/unit/test_compose.py keeps it up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.clusters import HealthCheck, Upstream
from gateway.envoy_config import GatewayConfig, bootstrap, local_upstreams, public_services
from gateway.rate_limits import RateLimits
from gateway.stats_listener import STATS_PORT
from gateway.tokens import JwtIssuer
from identity.settings import DEFAULT_AUDIENCE
from scripts.devstack.services import SERVICES

GATEWAY_PORT = 8000
ADMIN_PORT = 9901
COMPOSE_ISSUER = "http://issuer:8090"  # the development issuer's name and port in compose
COMPOSE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "envoy.json"


def oidc_issuer(url: str, audience: str = DEFAULT_AUDIENCE) -> JwtIssuer:
    """An OIDC issuer at `url` whose JWKS is at its `/jwks.json` (the development issuer)."""
    return JwtIssuer(url.rstrip("/"), (audience,), f"{url.rstrip('/')}/jwks.json")


def local_config(
    port: int,
    admin_port: int,
    issuer: JwtIssuer,
    replicas: Mapping[str, list[int]] | None = None,
    rate_limits: RateLimits | None = None,
    health_check: HealthCheck | None = None,
) -> GatewayConfig:
    """The gateway of a stack on this machine: every service on 127.0.0.1, at the ports of
    its replicas when `replicas` names them; admin on 127.0.0.1 only."""
    return GatewayConfig(
        port=port,
        admin_port=admin_port,
        upstreams=local_upstreams(replicas),
        issuer=issuer,
        rate_limits=rate_limits or RateLimits(),
        health_check=health_check or HealthCheck(),
    )


def compose_upstreams() -> dict[str, Upstream]:
    """Each public service by its compose name: every running replica, by DNS."""
    ports = {spec.name: spec.port for spec in SERVICES}
    return {name: Upstream(((name, ports[name]),)) for name in public_services()}


def compose_bootstrap() -> dict[str, Any]:
    """compose.yaml's gateway: listening on every interface of its container (only its
    published port reaches it from the host), admin inside the container only, its
    metrics alone served to the compose network for Prometheus."""
    config = GatewayConfig(
        port=GATEWAY_PORT,
        admin_port=ADMIN_PORT,
        host="0.0.0.0",
        stats_port=STATS_PORT,
        upstreams=compose_upstreams(),
        issuer=oidc_issuer(COMPOSE_ISSUER),
    )
    return bootstrap(config)
