"""Tokens shaped like Keycloak's (compose.yaml's identity provider) verify to the right
caller, and a service gets its own from Keycloak's token endpoint.

Keycloak cannot run here, so its HTTP side is an httpx.MockTransport serving what Keycloak
26 serves with KC_HOSTNAME=http://localhost:8081 and hostname-backchannel-dynamic: asked at
keycloak:8080, the discovery document names the public issuer (`iss`) and backchannel
endpoints (JWKS, token) at keycloak:8080. The public URL is unreachable from "inside".
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.account_payment_steps import saga_only
from api.problems import Problem
from identity.jwks_cache import IssuerUnavailable
from identity.keys import SigningKey
from identity.roles import CUSTOMER, SERVICE
from identity.service_tokens import ServiceTokens, TokenUnavailable
from identity.settings import OidcSettings
from identity.verifier import Principal, TokenVerifier

ISSUER = "http://localhost:8081/realms/paystream"  # KC_HOSTNAME + the realm: `iss`
INSIDE = "http://keycloak:8080/realms/paystream"  # the same realm by its compose name
DISCOVERY_URL = f"{INSIDE}/.well-known/openid-configuration"
CERTS = f"{INSIDE}/protocol/openid-connect/certs"
TOKEN_ENDPOINT = f"{INSIDE}/protocol/openid-connect/token"
SAGA_SECRET = "saga-secret"
# Keycloak's realm roles besides ours, which the roles mapper passes on too.
KEYCLOAK_DEFAULT_ROLES = ["default-roles-paystream", "offline_access", "uma_authorization"]


def discovery_document(issuer: str = ISSUER) -> dict[str, Any]:
    """Keycloak's, in part: frontend endpoints on the public URL, backchannel ones inside."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
        "token_endpoint": TOKEN_ENDPOINT,
        "introspection_endpoint": f"{TOKEN_ENDPOINT}/introspect",
        "userinfo_endpoint": f"{INSIDE}/protocol/openid-connect/userinfo",
        "end_session_endpoint": f"{ISSUER}/protocol/openid-connect/logout",
        "jwks_uri": CERTS,
        "grant_types_supported": ["authorization_code", "client_credentials", "password"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "PS256"],
    }


class Keycloak:
    """The realm's HTTP side: discovery, the key set (a signing key and an encryption key,
    as Keycloak publishes both), and client credentials for the saga."""

    def __init__(self) -> None:
        self.key = SigningKey("Zk0d3kVd1Xo2Yk9C9bQmNw5z0n6eJkq4HfC1Yp0a8sE", new_rsa())
        encryption = {**SigningKey("enc-key", new_rsa()).public_jwk(), "use": "enc"}
        self.jwks = {"keys": [{**self.key.public_jwk(), "x5c": ["MIIC..."]}, encryption]}
        self.document = discovery_document()
        self.requested: list[str] = []
        self.saga_subject = str(uuid.uuid4())  # the id of user service-account-saga

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        self.requested.append(f"{request.method} {url}")
        if url.startswith("http://localhost:8081"):
            raise httpx.ConnectError("localhost:8081 is the host's, not this container's")
        if request.method == "GET" and url == DISCOVERY_URL:
            return httpx.Response(200, json=self.document)
        if request.method == "GET" and url == CERTS:
            return httpx.Response(200, json=self.jwks)
        if request.method == "POST" and url == TOKEN_ENDPOINT:
            return self.client_credentials(request)
        return httpx.Response(404, json={"error": "RESTEASY003210: Could not find resource"})

    def client_credentials(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        if (form.get("client_id"), form.get("client_secret")) != ("saga", SAGA_SECRET):
            return httpx.Response(401, json={"error": "unauthorized_client"})
        token = self.sign(service_account_claims(self.saga_subject, "saga"))
        answer = {"access_token": token, "expires_in": 300, "refresh_expires_in": 0}
        return httpx.Response(200, json=answer | {"token_type": "Bearer", "scope": ""})

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(claims, self.key.private_key, algorithm="RS256", headers=headers)

    def http(self, auth: httpx.Auth | None = None) -> httpx.Client:
        return httpx.Client(auth=auth, transport=httpx.MockTransport(self.handle))


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def common_claims(subject: str, azp: str, roles: list[str]) -> dict[str, Any]:
    now = int(time.time())
    return {
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "iss": ISSUER,
        "aud": ["paystream", "account"],
        "sub": subject,
        "typ": "Bearer",
        "azp": azp,
        "acr": "1",
        "realm_access": {"roles": roles},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "roles": roles,
    }


def person_claims(subject: str) -> dict[str, Any]:
    """A person's token from the public client, by the direct access grant."""
    return common_claims(subject, "paystream-cli", [CUSTOMER, *KEYCLOAK_DEFAULT_ROLES]) | {
        "sid": str(uuid.uuid4()),
        "scope": "",
        "preferred_username": "alice",
    }


def service_account_claims(subject: str, client_id: str) -> dict[str, Any]:
    """A service account's token: `client_id` from the realm's service_account scope."""
    claims = common_claims(subject, client_id, [SERVICE, *KEYCLOAK_DEFAULT_ROLES])
    return claims | {"client_id": client_id, "clientHost": "172.18.0.9", "scope": ""}


@pytest.fixture
def keycloak() -> Keycloak:
    return Keycloak()


def compose_settings(monkeypatch: pytest.MonkeyPatch) -> OidcSettings:
    """The settings compose.yaml gives every service."""
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_DISCOVERY_URL", DISCOVERY_URL)
    return OidcSettings()


def verifier(keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    return TokenVerifier.from_settings(compose_settings(monkeypatch), keycloak.http())


def test_a_persons_keycloak_token_verifies_to_their_subject_and_roles(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = str(uuid.uuid4())

    principal = verifier(keycloak, monkeypatch).verify(keycloak.sign(person_claims(subject)))

    roles = frozenset([CUSTOMER, *KEYCLOAK_DEFAULT_ROLES])
    assert principal == Principal(subject, roles, client_id="paystream-cli")
    assert keycloak.requested == [f"GET {DISCOVERY_URL}", f"GET {CERTS}"]


def test_a_person_is_refused_the_payment_steps(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = keycloak.sign(person_claims(str(uuid.uuid4())) | {"roles": [CUSTOMER, SERVICE]})
    principal = verifier(keycloak, monkeypatch).verify(token)

    with pytest.raises(Problem) as refused:
        asyncio.run(saga_only(principal))
    assert refused.value.status == 403


def test_the_saga_gets_a_token_by_client_credentials_that_payment_steps_accept(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose_settings(monkeypatch)
    monkeypatch.setenv("PAYSTREAM_CLIENT_SECRET", SAGA_SECRET)
    tokens = ServiceTokens.from_settings("saga")
    seen: list[str] = []

    def accounts_api(request: httpx.Request) -> httpx.Response:
        if request.url.host == "accounts-api":
            seen.append(request.headers["Authorization"].removeprefix("Bearer "))
            return httpx.Response(200)
        return keycloak.handle(request)

    with httpx.Client(auth=tokens, transport=httpx.MockTransport(accounts_api)) as http:
        assert http.post("http://accounts-api:8001/accounts/a/debits").status_code == 200

    principal = verifier(keycloak, monkeypatch).verify(seen[0])
    assert principal.subject == keycloak.saga_subject
    assert principal.client_id == "saga" and SERVICE in principal.roles
    asyncio.run(saga_only(principal))  # the payment steps' check lets the saga through


def test_another_service_account_is_refused_the_payment_steps(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = service_account_claims(str(uuid.uuid4()), "payments-api")
    principal = verifier(keycloak, monkeypatch).verify(keycloak.sign(claims))

    assert principal.client_id == "payments-api"
    with pytest.raises(Problem):
        asyncio.run(saga_only(principal))


def test_without_a_discovery_url_the_issuers_own_url_is_asked(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside compose, that is the host's localhost: unreachable, so OIDC_DISCOVERY_URL."""
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.delenv("OIDC_DISCOVERY_URL", raising=False)
    without = TokenVerifier.from_settings(OidcSettings(), keycloak.http())

    with pytest.raises(IssuerUnavailable):
        without.verify(keycloak.sign(person_claims(str(uuid.uuid4()))))
    assert keycloak.requested == [f"GET {ISSUER}/.well-known/openid-configuration"]


def test_a_discovery_document_naming_another_issuer_is_refused(
    keycloak: Keycloak, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the internal address answers must be the issuer the tokens name."""
    keycloak.document = discovery_document(issuer=INSIDE)  # e.g. KC_HOSTNAME left unset

    with pytest.raises(IssuerUnavailable, match="names issuer"):
        verifier(keycloak, monkeypatch).verify(keycloak.sign(person_claims(str(uuid.uuid4()))))
    assert f"GET {CERTS}" not in keycloak.requested

    compose_settings(monkeypatch)
    monkeypatch.setenv("PAYSTREAM_CLIENT_SECRET", SAGA_SECRET)
    with (
        keycloak.http(auth=ServiceTokens.from_settings("saga")) as http,
        pytest.raises(TokenUnavailable, match="names issuer"),
    ):
        http.get("http://accounts-api:8001/accounts")
    assert f"POST {TOKEN_ENDPOINT}" not in keycloak.requested
