"""The compose gateway's token check, with a real Envoy, against Keycloak's shapes: the
provider of `keycloak_issuer()` (its public issuer, audience `paystream`), a key set as
Keycloak publishes it (an encryption key beside the signing key, certificates in `x5c`),
and tokens with Keycloak's claims. Only the JWKS address is local: Keycloak cannot run
here."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.clusters import Upstream
from gateway.envoy_config import GatewayConfig, bootstrap, public_services
from gateway.layouts import COMPOSE_ISSUER, COMPOSE_JWKS_URI, keycloak_issuer
from gateway.routes import public_routes
from scripts.devstack.embedded import free_port
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from tests.support.gateway import EchoUpstream, SigningKey, jwks_server

pytestmark = pytest.mark.integration

ACCOUNT = str(uuid.uuid4())


def keycloak_jwks(signing: SigningKey, encryption: SigningKey) -> dict[str, Any]:
    """Keycloak's `certs`: the realm's RSA-OAEP encryption key listed first, then the
    RS256 signing key, each with its certificate chain and thumbprints."""
    (enc,) = encryption.jwks()["keys"]
    (sig,) = signing.jwks()["keys"]
    certificate = {"x5c": ["MIICozCCAYsCBgGT..."], "x5t": "q1w2e3", "x5t#S256": "r4t5y6"}
    return {"keys": [enc | {"use": "enc", "alg": "RSA-OAEP"} | certificate, sig | certificate]}


def keycloak_claims(**changes: Any) -> dict[str, Any]:
    """A person's access token from the realm's public client."""
    now = int(time.time())
    claims = {
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "iss": COMPOSE_ISSUER,
        "aud": ["paystream", "account"],
        "sub": str(uuid.uuid4()),
        "typ": "Bearer",
        "azp": "paystream-cli",
        "sid": str(uuid.uuid4()),
        "acr": "1",
        "realm_access": {"roles": ["customer", "offline_access"]},
        "scope": "",
        "roles": ["customer", "default-roles-paystream", "offline_access"],
    }
    return claims | changes


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SigningKey]]:
    signing = SigningKey(kid="Zk0d3kVd1Xo2Yk9C9bQmNw5z0n6eJkq4HfC1Yp0a8sE")
    encryption = SigningKey(kid="8bJtq1-sT4mZy0XW1vBqv3XzjM5qYJm1fX2o7bWcY9k")
    upstreams = {name: EchoUpstream(name, free_port()) for name in public_services()}
    for upstream in upstreams.values():
        upstream.start()
    with jwks_server(free_port(), keycloak_jwks(signing, encryption)) as local:
        certs = local.replace("/jwks.json", COMPOSE_JWKS_URI.split(":8080", 1)[1])
        config = GatewayConfig(
            port=free_port(),
            admin_port=free_port(),
            upstreams={name: Upstream((("127.0.0.1", up.port),)) for name, up in upstreams.items()},
            issuer=dataclasses.replace(keycloak_issuer(), jwks_uri=certs),
        )
        envoy = EmbeddedEnvoy(tmp_path_factory.mktemp("gateway-keycloak"), bootstrap(config))
        envoy.start()
        try:
            yield envoy.url, signing
        finally:
            envoy.stop()
            for upstream in upstreams.values():
                upstream.stop()


def read(gateway: tuple[str, SigningKey], token: str) -> httpx.Response:
    url, _ = gateway
    route = next(r for r in public_routes() if r.method == "GET" and "{account_id}" in r.template)
    path = route.template.replace("{account_id}", ACCOUNT)
    return httpx.get(url + path, headers={"authorization": f"Bearer {token}"}, timeout=10.0)


def test_a_keycloak_token_passes_the_gateway(gateway: tuple[str, SigningKey]) -> None:
    _, key = gateway
    token = key.token(keycloak_claims())

    answer = read(gateway, token)

    assert answer.status_code == 200, answer.text
    assert answer.json()["headers"]["authorization"] == f"Bearer {token}"  # forwarded


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "http://keycloak:8080/realms/paystream"},  # Keycloak without KC_HOSTNAME
        {"aud": ["account"]},  # a client without the paystream scope
    ],
    ids=["internal-issuer", "no-paystream-audience"],
)
def test_a_keycloak_token_for_another_issuer_or_audience_is_refused(
    gateway: tuple[str, SigningKey], changes: dict[str, Any]
) -> None:
    _, key = gateway

    answer = read(gateway, key.token(keycloak_claims(**changes)))

    assert answer.status_code == 401, answer.text
