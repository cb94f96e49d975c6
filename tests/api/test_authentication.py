"""The `Authenticated` dependency on a tiny app: a verified caller gets through, a refused
token answers 401 problem+json with its RFC 6750 challenge, an unreachable issuer 503."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.authentication import Authenticated, install_token_verifier
from api.service_app import service_app
from identity.jwks_cache import JwksCache
from identity.verifier import TokenVerifier
from tests.support.issuer import DevIssuer, dev_issuer, signed_by_stranger, unsigned


def tiny_app(verifier: TokenVerifier) -> FastAPI:
    app = service_app("tiny")
    install_token_verifier(app, verifier)

    @app.get("/whoami")
    def whoami(caller: Authenticated) -> dict[str, object]:
        """The caller."""
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    return app


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


@pytest.fixture
def client(issuer: DevIssuer) -> TestClient:
    return TestClient(tiny_app(issuer.verifier()), raise_server_exceptions=False)


def test_a_valid_token_names_the_caller(issuer: DevIssuer, client: TestClient) -> None:
    token = issuer.mint("alice", roles=["operator"])

    answer = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})

    assert answer.json() == {"subject": "alice", "roles": ["operator"]}


@pytest.mark.parametrize("authorization", [None, "Basic YWxpY2U6eA==", "Bearer"])
def test_no_bearer_token_is_401_without_an_error_code(
    client: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    answer = client.get("/whoami", headers=headers)

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/authentication-required"
    assert answer.headers["www-authenticate"] == 'Bearer realm="paystream"'


def test_a_refused_token_is_401_invalid_token_with_its_reason(
    issuer: DevIssuer, client: TestClient
) -> None:
    kid = issuer.directory.keyring.current().kid

    for token, reason in [(unsigned(kid), "unsigned"), (signed_by_stranger(kid), "bad-signature")]:
        answer = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})

        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert (body["type"], body["reason"]) == ("/problems/invalid-token", reason)
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="paystream", error="invalid_token"')
        assert f'error_description="{body["detail"]}"' in challenge


def test_the_challenge_quotes_only_what_rfc_6750_allows(client: TestClient) -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": 'X"\\\r\nSet-Cookie: a=b'}).encode())
    token = f"{header.decode().rstrip('=')}.e30.c2ln"

    answer = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})

    assert answer.json()["reason"] == "algorithm-not-allowed"
    assert "set-cookie" not in answer.headers
    description = answer.headers["www-authenticate"].split('error_description="')[1][:-1]
    assert "Set-Cookie" in description and not {'"', "\\", "\r", "\n"} & set(description)


def test_an_unreachable_issuer_is_503_with_retry_after(issuer: DevIssuer) -> None:
    verifier = TokenVerifier(JwksCache("http://127.0.0.1:9", issuer.http), "paystream")
    client = TestClient(tiny_app(verifier), raise_server_exceptions=False)

    answer = client.get("/whoami", headers={"Authorization": f"Bearer {issuer.mint()}"})

    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/issuer-unavailable"
    assert answer.headers["retry-after"] == "5"
