"""The gateway of `paystream up`: Envoy on one public port in front of every API replica,
trusting the development issuer. Started once the issuer and the services are ready, so
its first JWKS fetch and health checks succeed.

With `paystream up --bench` (for `paystream bench suite`) its rate limits are lifted, and
GET /bench/hello reaches the bench's hello-world service (api/bench_hello.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from gateway.envoy_config import GatewayConfig, bootstrap
from gateway.layouts import ADMIN_PORT, GATEWAY_PORT, local_config, oidc_issuer
from gateway.rate_limits import RateLimits, TokenBucket
from identity.settings import DEV_ISSUER_URL, OidcSettings
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from scripts.devstack.services import BENCH_HELLO, CONSOLE


def gateway_ports() -> tuple[int, int]:
    """The public port (PAYSTREAM_GATEWAY_PORT) and the admin port on 127.0.0.1
    (PAYSTREAM_GATEWAY_ADMIN_PORT)."""
    port = int(os.environ.get("PAYSTREAM_GATEWAY_PORT", GATEWAY_PORT))
    return port, int(os.environ.get("PAYSTREAM_GATEWAY_ADMIN_PORT", ADMIN_PORT))


# Buckets no benchmark on one machine empties: the limits stay in the path, never refuse.
UNLIMITED = TokenBucket(1_000_000, 1_000_000)
BENCH_RATE_LIMITS = RateLimits(UNLIMITED, UNLIMITED, UNLIMITED)


def up_rate_limits(bench: bool = False) -> RateLimits:
    """The gateway's limits: the defaults, or in bench mode buckets so large that nothing
    is refused (`bench suite`'s clients all share one address and would meet the
    per-address limit first)."""
    return BENCH_RATE_LIMITS if bench else RateLimits()


def up_gateway_config(replicas: Mapping[str, list[int]], bench: bool = False) -> GatewayConfig:
    """`up`'s gateway: every service at the ports of its replicas (else its own port), and
    /console to the console; in bench mode, no limits and the hello-world route to
    BENCH_HELLO's port."""
    port, admin_port = gateway_ports()
    issuer = oidc_issuer(DEV_ISSUER_URL, OidcSettings().oidc_audience)
    hello_port = BENCH_HELLO.port if bench else None
    return local_config(
        port,
        admin_port,
        issuer,
        replicas,
        up_rate_limits(bench),
        bench_hello_port=hello_port,
        console_port=CONSOLE.port,
    )


def up_gateway(
    work_dir: Path, replicas: Mapping[str, list[int]], bench: bool = False
) -> EmbeddedEnvoy:
    """Envoy for `up`, its files under `work_dir` (not started yet)."""
    return EmbeddedEnvoy(work_dir, bootstrap(up_gateway_config(replicas, bench)))
