"""Who may come in: Envoy's jwt_authn filter, checking every request's bearer token
against one OIDC issuer's JWKS, and the cluster the JWKS is fetched from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.clusters import Upstream, cluster, seconds, typed

JWT_FILTER = "envoy.filters.http.jwt_authn"
JWT_PROVIDER = "paystream"
JWKS_CLUSTER = "jwks"
# The verified token's claims, kept as the request's dynamic metadata under JWT_FILTER.
PAYLOAD_METADATA = "jwt_payload"


@dataclass(frozen=True)
class JwtIssuer:
    """The OIDC issuer whose tokens the gateway accepts: `iss`, one of `audiences`, and a
    signature by a key of the JWKS at `jwks_uri` (refetched every `jwks_cache_seconds`)."""

    issuer: str
    audiences: tuple[str, ...]
    jwks_uri: str
    jwks_cache_seconds: float = 300.0

    def jwks_upstream(self) -> Upstream:
        parts = urlsplit(self.jwks_uri)
        https = parts.scheme == "https"
        return Upstream(((parts.hostname or "", parts.port or (443 if https else 80)),))


def jwt_authn(issuer: JwtIssuer, open_rules: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Every route needs a valid token, except what `open_rules` match (rules without a
    requirement, checked first); it is forwarded, and its claims kept as metadata."""
    provider = {
        "issuer": issuer.issuer,
        "audiences": list(issuer.audiences),
        "remote_jwks": {
            "http_uri": {"uri": issuer.jwks_uri, "cluster": JWKS_CLUSTER, "timeout": "5s"},
            "cache_duration": seconds(issuer.jwks_cache_seconds),
            "async_fetch": {"failed_refetch_duration": "1s"},
        },
        "forward": True,
        "payload_in_metadata": PAYLOAD_METADATA,
    }
    return {
        "name": JWT_FILTER,
        "typed_config": typed(
            "filters.http.jwt_authn.v3.JwtAuthentication",
            providers={JWT_PROVIDER: provider},
            rules=[
                *open_rules,
                {"match": {"prefix": "/"}, "requires": {"provider_name": JWT_PROVIDER}},
            ],
        ),
    }


def jwks_cluster(issuer: JwtIssuer) -> dict[str, Any]:
    """Where the JWKS is fetched from (TLS when its URI is https)."""
    found = cluster(JWKS_CLUSTER, issuer.jwks_upstream(), health=None)
    if urlsplit(issuer.jwks_uri).scheme == "https":
        found["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": typed(
                "transport_sockets.tls.v3.UpstreamTlsContext",
                sni=urlsplit(issuer.jwks_uri).hostname,
            ),
        }
    return found
