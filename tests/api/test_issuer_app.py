"""The development issuer app: discovery, the key set, client credentials (RFC 6749)
and every way a token request fails."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.issuer import AUDIENCE, ISSUER, DevIssuer, dev_issuer

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


def saga_secret(issuer: DevIssuer) -> str:
    return issuer.clients["saga"].secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"authorization": f"Basic {encoded}"}


def test_discovery_names_the_issuer_its_keys_and_token_endpoint(issuer: DevIssuer) -> None:
    document = issuer.http.get("/.well-known/openid-configuration").json()

    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert document["token_endpoint"] == f"{ISSUER}/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["grant_types_supported"] == ["client_credentials", "authorization_code"]
    assert document["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_the_key_set_publishes_public_rsa_keys_only(issuer: DevIssuer) -> None:
    [key] = issuer.http.get("/jwks.json").json()["keys"]

    assert key["kid"] == issuer.directory.keyring.current().kid
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_the_key_set_publishes_the_new_key_and_the_ones_before_it(issuer: DevIssuer) -> None:
    first = issuer.directory.keyring.current().kid
    second = issuer.directory.keyring.rotate().kid

    kids = [key["kid"] for key in issuer.http.get("/jwks.json").json()["keys"]]

    assert kids == [second, first]


def test_health_and_readiness(issuer: DevIssuer) -> None:
    assert issuer.http.get("/healthz").status_code == 200
    assert issuer.http.get("/readyz").json() == {"status": "ready"}


def test_readiness_without_a_key_is_503(tmp_path: Path) -> None:
    issuer = dev_issuer(tmp_path)
    for kid in issuer.directory.keyring.kids():
        (issuer.directory.keyring.keys_dir / f"{kid}.pem").unlink()

    answer = issuer.http.get("/readyz")

    assert answer.status_code == 503 and "no signing key" in answer.json()["detail"]


@pytest.mark.parametrize("method", ["basic", "form"])
def test_a_service_gets_a_token_by_client_credentials(issuer: DevIssuer, method: str) -> None:
    form = {"grant_type": "client_credentials"}
    headers = basic("saga", saga_secret(issuer)) if method == "basic" else {}
    if method == "form":
        form |= {"client_id": "saga", "client_secret": saga_secret(issuer)}

    answer = issuer.http.post("/token", data=form, headers=headers)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    principal = issuer.verifier(AUDIENCE).verify(body["access_token"])
    assert (principal.subject, principal.client_id, principal.roles) == (
        "saga",
        "saga",
        frozenset({"service"}),
    )


def request_token(issuer: DevIssuer, body: str, headers: dict[str, str]) -> tuple[int, str]:
    answer = issuer.http.post("/token", content=body, headers={**FORM, **headers})
    assert answer.headers["cache-control"] == "no-store"
    return answer.status_code, answer.json()["error"]


GRANT = "grant_type=client_credentials"


def test_a_wrong_secret_is_invalid_client(issuer: DevIssuer) -> None:
    answer = issuer.http.post("/token", content=GRANT, headers={**FORM, **basic("saga", "x")})

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert answer.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    ("case", "body", "auth", "expected"),
    [
        ("unknown client", GRANT, ("mallory", "x"), (401, "invalid_client")),
        ("no client authentication", GRANT, None, (401, "invalid_client")),
        (
            "form secret wrong",
            f"{GRANT}&client_id=saga&client_secret=x",
            None,
            (401, "invalid_client"),
        ),
        ("form secret missing", f"{GRANT}&client_id=saga", None, (401, "invalid_client")),
        ("two methods", f"{GRANT}&client_id=saga", "saga", (400, "invalid_request")),
        ("no grant type", "", "saga", (400, "invalid_request")),
        ("other grant type", "grant_type=password", "saga", (400, "unsupported_grant_type")),
        ("repeated parameter", f"{GRANT}&{GRANT}", "saga", (400, "invalid_request")),
        ("not a form", "grant_type", "saga", (400, "invalid_request")),
        ("too long", f"{GRANT}&scope={'x' * 5000}", "saga", (400, "invalid_request")),
    ],
)
def test_a_bad_token_request_is_refused_as_rfc_6749_says(
    issuer: DevIssuer,
    case: str,
    body: str,
    auth: tuple[str, str] | str | None,
    expected: tuple[int, str],
) -> None:
    if auth == "saga":
        auth = ("saga", saga_secret(issuer))
    headers = basic(*auth) if isinstance(auth, tuple) else {}

    assert request_token(issuer, body, headers) == expected, case


@pytest.mark.parametrize("credentials", ["!!!not-base64", base64.b64encode(b"no-colon").decode()])
def test_malformed_basic_credentials_are_invalid_client(
    issuer: DevIssuer, credentials: str
) -> None:
    headers = {"authorization": f"Basic {credentials}"}

    assert request_token(issuer, GRANT, headers) == (401, "invalid_client")


def test_a_json_body_is_invalid_request(issuer: DevIssuer) -> None:
    answer = issuer.http.post(
        "/token", json={"grant_type": "client_credentials"}, headers=basic("saga", "x")
    )

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_the_openapi_document_shows_the_form_and_every_answer(issuer: DevIssuer) -> None:
    operation = issuer.http.get("/openapi.json").json()["paths"]["/token"]["post"]

    assert list(operation["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    assert {"200", "400", "401"} <= set(operation["responses"])
