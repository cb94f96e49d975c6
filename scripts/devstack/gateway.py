"""The gateway of `paystream up`: Envoy on one public port in front of every API replica,
trusting the development issuer. Started once the issuer and the services are ready, so
its first JWKS fetch and health checks succeed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from gateway.envoy_config import GatewayConfig, bootstrap
from gateway.layouts import ADMIN_PORT, GATEWAY_PORT, local_config, oidc_issuer
from gateway.rate_limits import RateLimits, TokenBucket
from identity.settings import DEV_ISSUER_URL, OidcSettings
from scripts.devstack.embedded_envoy import EmbeddedEnvoy


def gateway_ports() -> tuple[int, int]:
    """The public port (PAYSTREAM_GATEWAY_PORT) and the admin port on 127.0.0.1
    (PAYSTREAM_GATEWAY_ADMIN_PORT)."""
    port = int(os.environ.get("PAYSTREAM_GATEWAY_PORT", GATEWAY_PORT))
    return port, int(os.environ.get("PAYSTREAM_GATEWAY_ADMIN_PORT", ADMIN_PORT))


# Buckets no benchmark on one machine empties: the limits stay in the path, never refuse.
UNLIMITED = TokenBucket(1_000_000, 1_000_000)


class UnknownRateLimits(ValueError):
    """PAYSTREAM_GATEWAY_RATE_LIMITS is neither `default` nor `off`."""


def up_rate_limits() -> RateLimits:
    """The gateway's limits: the defaults, or with PAYSTREAM_GATEWAY_RATE_LIMITS=off
    buckets so large that nothing is refused (for `bench suite`, whose clients all share
    one address and would meet the per-address limit first)."""
    chosen = os.environ.get("PAYSTREAM_GATEWAY_RATE_LIMITS", "default").strip().lower()
    if chosen == "default":
        return RateLimits()
    if chosen == "off":
        return RateLimits(UNLIMITED, UNLIMITED, UNLIMITED)
    raise UnknownRateLimits(
        f"PAYSTREAM_GATEWAY_RATE_LIMITS is {chosen!r}; it is `default` or `off`"
    )


def up_gateway_config(replicas: Mapping[str, list[int]]) -> GatewayConfig:
    """`up`'s gateway: every service at the ports of its replicas (else its own port)."""
    port, admin_port = gateway_ports()
    issuer = oidc_issuer(DEV_ISSUER_URL, OidcSettings().oidc_audience)
    return local_config(port, admin_port, issuer, replicas, up_rate_limits())


def up_gateway(work_dir: Path, replicas: Mapping[str, list[int]]) -> EmbeddedEnvoy:
    """Envoy for `up`, its files under `work_dir` (not started yet)."""
    return EmbeddedEnvoy(work_dir, bootstrap(up_gateway_config(replicas)))
