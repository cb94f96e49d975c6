"""`paystream up --bench`'s hello-world service (api/bench_hello.py) as `bench suite`
meets it: a real process on the query APIs' server stack behind a real Envoy, answering
GET /bench/hello to a customer's token and refusing a request without one, at the
gateway and at the service itself, like a query route."""

from __future__ import annotations

import httpx
import pytest

from api.bench_hello import HELLO
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_the_hello_route_answers_a_token_through_the_gateway_and_refuses_none(
    stack: Stack,
) -> None:
    with stack.gateway(bench_hello=True) as gateway:
        with httpx.Client(base_url=gateway.url, timeout=10) as http:
            answered = http.get("/bench/hello", headers=stack.auth("bench"))
            refused = http.get("/bench/hello")
            other_method = http.post("/bench/hello", headers=stack.auth("bench"))
        direct = httpx.get(f"{stack.url('bench-hello')}/bench/hello", timeout=10)

    assert answered.status_code == 200, answered.text
    assert answered.json() == HELLO
    assert answered.headers["x-request-id"]
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert other_method.status_code == 404, other_method.text
    assert direct.status_code == 401, direct.text
    assert direct.json()["type"] == "/problems/authentication-required"


def test_without_bench_the_gateway_has_no_hello_route(stack: Stack) -> None:
    stack.start("issuer")  # the gateway fetches its keys: the token is checked first
    with stack.gateway() as gateway:
        response = httpx.get(f"{gateway.url}/bench/hello", headers=stack.auth("bench"))

    assert response.status_code == 404, response.text
