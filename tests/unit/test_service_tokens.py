"""A service's own tokens (identity/service_tokens.py): fetched from the real development
issuer app by client credentials, kept, fetched again when an API answers 401, and a
transport error when the issuer cannot give one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from identity.service_tokens import ServiceTokens, TokenUnavailable
from identity.verifier import TokenRefused
from tests.support.issuer import ISSUER, DevIssuer, dev_issuer

API = "http://api"


class System:
    """The issuer app, and an API that answers 200 to a token the issuer's keys verify."""

    def __init__(self, issuer: DevIssuer) -> None:
        self.issuer = issuer
        self.verifier = issuer.verifier()
        self.issuer_up = True
        self.token_requests = 0
        self.api_answers: list[int] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(ISSUER):
            if not self.issuer_up:
                return httpx.Response(503)
            self.token_requests += request.url.path == "/token"
            answer = self.issuer.http.request(
                request.method, request.url.path, content=request.content, headers=request.headers
            )
            return httpx.Response(
                answer.status_code, content=answer.content, headers=answer.headers
            )
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            principal = self.verifier.verify(token)
        except TokenRefused:
            self.api_answers.append(401)
            return httpx.Response(401)
        self.api_answers.append(200)
        return httpx.Response(
            200, json={"caller": principal.subject, "client": principal.client_id}
        )


@pytest.fixture
def system(tmp_path: Path) -> System:
    return System(dev_issuer(tmp_path))


def client(system: System, secret: str | None = None) -> httpx.Client:
    saga = system.issuer.clients["saga"]
    tokens = ServiceTokens(ISSUER, "saga", secret or saga.secret)
    return httpx.Client(base_url=API, auth=tokens, transport=httpx.MockTransport(system.handle))


def test_a_token_is_fetched_once_and_names_the_client(system: System) -> None:
    with client(system) as http:
        answers = [http.get("/thing") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == {"caller": "saga", "client": "saga"}
    assert system.token_requests == 1


def test_a_refused_token_is_fetched_again_once(system: System) -> None:
    with client(system) as http:
        assert http.get("/thing").status_code == 200
        system.issuer.directory.keyring.rotate()
        system.issuer.directory.keyring.rotate()
        system.issuer.directory.keyring.rotate()  # the first key is gone from the JWKS
        system.verifier = system.issuer.verifier()  # a service restarted, keys fetched anew

        answer = http.get("/thing")

    assert answer.status_code == 200
    assert system.api_answers == [200, 401, 200]
    assert system.token_requests == 2


def test_no_token_from_a_down_issuer_is_a_transport_error(system: System) -> None:
    system.issuer_up = False
    with client(system) as http, pytest.raises(TokenUnavailable, match="answered 503"):
        http.get("/thing")
    assert system.api_answers == []


def test_a_wrong_secret_is_a_transport_error_naming_the_answer(system: System) -> None:
    with client(system, secret="wrong") as http, pytest.raises(TokenUnavailable, match="401"):
        http.get("/thing")
