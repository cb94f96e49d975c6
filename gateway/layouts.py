"""Where the gateway runs and what it reaches: `paystream up`'s layout (every replica on
127.0.0.1 at a port of its own) and compose.yaml's (each service by its name, resolved by
DNS, so `docker compose up --scale accounts-api=3` is balanced over the three).

compose.yaml's Envoy reads deploy/envoy.json, written by `paystream gateway config
--compose` from `compose_bootstrap()`; tests/unit/test_compose.py keeps it up to date.

The two layouts trust different issuers: `paystream up` the development issuer, compose.yaml
Keycloak (realm deploy/keycloak/paystream-realm.json). Keycloak's `iss` is its public URL
(KC_HOSTNAME, where people on the host reach it); containers reach it by its service name,
and its backchannel endpoints (JWKS, token) answer at the address they were asked on.
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
from scripts.devstack.services import CONSOLE, SERVICES

GATEWAY_PORT = 8000
ADMIN_PORT = 9901
KEYCLOAK_REALM = "paystream"
KEYCLOAK_PUBLIC_URL = "http://localhost:8081"  # KC_HOSTNAME; published on 127.0.0.1:8081
KEYCLOAK_INTERNAL_URL = "http://keycloak:8080"  # its compose name and HTTP port
COMPOSE_ISSUER = f"{KEYCLOAK_PUBLIC_URL}/realms/{KEYCLOAK_REALM}"
COMPOSE_REALM_URL = f"{KEYCLOAK_INTERNAL_URL}/realms/{KEYCLOAK_REALM}"
COMPOSE_JWKS_URI = f"{COMPOSE_REALM_URL}/protocol/openid-connect/certs"
COMPOSE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "envoy.json"


def oidc_issuer(url: str, audience: str = DEFAULT_AUDIENCE) -> JwtIssuer:
    """An OIDC issuer at `url` whose JWKS is at its `/jwks.json` (the development issuer)."""
    return JwtIssuer(url.rstrip("/"), (audience,), f"{url.rstrip('/')}/jwks.json")


def keycloak_issuer(audience: str = DEFAULT_AUDIENCE) -> JwtIssuer:
    """compose.yaml's Keycloak: its public issuer, its key set fetched by its compose name."""
    return JwtIssuer(COMPOSE_ISSUER, (audience,), COMPOSE_JWKS_URI)


def local_config(
    port: int,
    admin_port: int,
    issuer: JwtIssuer,
    replicas: Mapping[str, list[int]] | None = None,
    rate_limits: RateLimits | None = None,
    health_check: HealthCheck | None = None,
    bench_hello_port: int | None = None,
    console_port: int | None = None,
) -> GatewayConfig:
    """The gateway of a stack on this machine: every service on 127.0.0.1, at the ports of
    its replicas when `replicas` names them; admin on 127.0.0.1 only; GET /bench/hello to
    the bench's hello-world service, and /console to the console, when given their ports."""
    hello = None if bench_hello_port is None else Upstream((("127.0.0.1", bench_hello_port),))
    console = None if console_port is None else Upstream((("127.0.0.1", console_port),))
    return GatewayConfig(
        port=port,
        admin_port=admin_port,
        upstreams=local_upstreams(replicas),
        issuer=issuer,
        rate_limits=rate_limits or RateLimits(),
        health_check=health_check or HealthCheck(),
        bench_hello=hello,
        console=console,
    )


def compose_upstreams() -> dict[str, Upstream]:
    """Each public service by its compose name: every running replica, by DNS."""
    ports = {spec.name: spec.port for spec in SERVICES}
    return {name: Upstream(((name, ports[name]),)) for name in public_services()}


def compose_bootstrap() -> dict[str, Any]:
    """compose.yaml's gateway: listening on every interface of its container (only its
    published port reaches it from the host), admin inside the container only, its
    metrics alone served to the compose network for Prometheus; /console to the console."""
    config = GatewayConfig(
        port=GATEWAY_PORT,
        admin_port=ADMIN_PORT,
        host="0.0.0.0",
        stats_port=STATS_PORT,
        upstreams=compose_upstreams(),
        issuer=keycloak_issuer(),
        console=Upstream(((CONSOLE.name, CONSOLE.port),)),
    )
    return bootstrap(config)
