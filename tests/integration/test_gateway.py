"""The gateway: a real Envoy from the wheel, with its generated configuration, in front of
upstreams that echo what reached them (no Paystream service: routing, tokens, retries,
health, rate limits and bulkheads are Envoy's)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clusters import Bulkhead, HealthCheck, Upstream
from gateway.envoy_config import GatewayConfig, bootstrap, public_services
from gateway.rate_limits import RateLimits, TokenBucket
from gateway.routes import PublicRoute, public_routes
from gateway.stats_listener import STATS_PATH
from gateway.tokens import JwtIssuer
from scripts.devstack.embedded import free_port
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from tests.support.gateway import DELAY, FAIL_ONCE, EchoUpstream, SigningKey, claims, jwks_server
from tests.support.stack import wait_until

pytestmark = pytest.mark.integration

AUDIENCE = "paystream"
PER_SUBJECT = TokenBucket(20, 10)
PER_CLIENT_IP = TokenBucket(300, 50)
PAYMENT_CREATIONS = TokenBucket(3, 1)
SLOW_SERVICE = "analytics-query-api"  # its bulkhead holds one request at a time
SLOW_SECONDS = 1.0
ACCURACY_WINDOW = 2.0
PACE_SECONDS = 0.025  # a load thread's requests: 40/s at most, under the limit per address
REPLICATED = "accounts-api"
ACCOUNT = str(uuid.uuid4())
STEPS = ("debits", "credits", "refunds")


@dataclass
class Gateway:
    envoy: EmbeddedEnvoy
    upstreams: dict[str, list[EchoUpstream]]
    key: SigningKey
    issuer: str

    def token(self, subject: str, **changes: Any) -> str:
        return self.key.token(claims(self.issuer, AUDIENCE, subject) | changes)

    def client(self, subject: str | None, **options: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.token(subject)}"} if subject else {}
        return httpx.Client(base_url=self.envoy.url, headers=headers, timeout=10.0, **options)

    def received(self, service: str, request: str) -> int:
        return sum(replica.received[request] for replica in self.upstreams[service])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    key, issuer = SigningKey(), f"http://issuer.test/{uuid.uuid4()}"
    upstreams: dict[str, list[EchoUpstream]] = {}
    for service in public_services():
        shared: set[str] = set()
        count = 2 if service == REPLICATED else 1
        upstreams[service] = [
            EchoUpstream(service, free_port(), replica, shared) for replica in range(1, count + 1)
        ]
    for replicas in upstreams.values():
        for replica in replicas:
            replica.start()
    with jwks_server(free_port(), key.jwks()) as jwks_uri:
        config = GatewayConfig(
            port=free_port(),
            admin_port=free_port(),
            upstreams={
                name: Upstream(
                    tuple(("127.0.0.1", r.port) for r in replicas),
                    Bulkhead(1, 1, 1, 1) if name == SLOW_SERVICE else Bulkhead(),
                )
                for name, replicas in upstreams.items()
            },
            issuer=JwtIssuer(issuer, (AUDIENCE, "other-audience"), jwks_uri),
            rate_limits=RateLimits(PER_SUBJECT, PER_CLIENT_IP, PAYMENT_CREATIONS),
            health_check=HealthCheck(interval_seconds=0.2, timeout_seconds=0.5),
            stats_port=free_port(),
        )
        envoy = EmbeddedEnvoy(tmp_path_factory.mktemp("gateway"), bootstrap(config))
        envoy.start()
        try:
            yield Gateway(envoy, upstreams, key, issuer)
        finally:
            envoy.stop()
            for replicas in upstreams.values():
                for replica in replicas:
                    replica.stop()


def concrete(route: PublicRoute) -> str:
    return route.template.replace("{account_id}", ACCOUNT).replace("{payment_id}", ACCOUNT)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["status"] == status
    return body


# --- routing ---


@pytest.mark.parametrize("route", public_routes(), ids=lambda route: route.name)
def test_each_public_route_reaches_its_service(gateway: Gateway, route: PublicRoute) -> None:
    with gateway.client("router") as client:
        response = client.request(route.method, concrete(route), json={"amount": 1})
    assert response.status_code == 200, response.text
    echo = response.json()
    assert (echo["service"], echo["method"], echo["path"]) == (
        route.service,
        route.method,
        concrete(route),
    )


@pytest.mark.parametrize("step", STEPS)
def test_payment_steps_are_not_routed(gateway: Gateway, step: str) -> None:
    path = f"/accounts/{ACCOUNT}/{step}"
    with gateway.client("router") as client:
        response = client.post(path, json={}, headers={"idempotency-key": "p:debit"})
    assert_problem(response, 404, "not-found")
    assert gateway.received(REPLICATED, f"POST {path}") == 0


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/accounts/{ACCOUNT}%2Fdebits", 400, "bad-request"),
        (f"/accounts/{ACCOUNT}/%2e%2e/{ACCOUNT}/debits", 404, "not-found"),
        (f"/accounts//{ACCOUNT}/debits", 404, "not-found"),
    ],
    ids=["escaped slash", "dot segments", "double slash"],
)
def test_a_payment_step_cannot_hide_in_another_path(
    gateway: Gateway, path: str, status: int, code: str
) -> None:
    with gateway.client("router") as client:
        response = client.post(path, json={}, headers={"idempotency-key": "p:debit"})
    assert_problem(response, status, code)
    reached = [request for r in gateway.upstreams[REPLICATED] for request in r.received]
    assert [request for request in reached if "debits" in request] == []


def test_a_query_string_does_not_change_the_route(gateway: Gateway) -> None:
    with gateway.client("router") as client:
        response = client.get("/payments", params={"account": ACCOUNT, "limit": 5})
    assert response.json()["service"] == "payments-query-api"


# --- tokens ---


def test_a_valid_token_is_forwarded_with_a_request_id(gateway: Gateway) -> None:
    token = gateway.token("alice")
    with gateway.client(None) as client:
        response = client.get(f"/accounts/{ACCOUNT}", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    seen = response.json()["headers"]
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-request-id"] == response.headers["x-request-id"]


def test_a_callers_request_id_is_kept(gateway: Gateway) -> None:
    with gateway.client("alice") as client:
        response = client.get(f"/accounts/{ACCOUNT}", headers={"x-request-id": "trace-me-1"})
    assert response.json()["headers"]["x-request-id"] == "trace-me-1"
    assert response.headers["x-request-id"] == "trace-me-1"


def test_no_token_is_401_problem_with_a_bearer_challenge(gateway: Gateway) -> None:
    with gateway.client(None) as client:
        response = client.get(f"/accounts/{ACCOUNT}")
    assert_problem(response, 401, "authentication-required")
    assert response.headers["www-authenticate"] == 'Bearer realm="paystream"'


Claims = dict[str, Any]
# Each made by the issuer's key unless it says otherwise (`impostor`: another RSA key).
BAD_TOKENS: dict[str, Callable[[Gateway, SigningKey, Claims], str]] = {
    "expired": lambda g, _, good: g.key.token(good | {"exp": int(time.time()) - 120}),
    "not yet valid": lambda g, _, good: g.key.token(good | {"nbf": int(time.time()) + 600}),
    "wrong audience": lambda g, _, good: g.key.token(good | {"aud": "someone-else"}),
    "wrong issuer": lambda g, _, good: g.key.token(good | {"iss": "http://evil.test"}),
    "bad signature": lambda g, impostor, good: impostor.token(good, kid=g.key.kid),
    "unknown kid": lambda g, impostor, good: impostor.token(good, kid="unknown"),
    "alg none": lambda g, _, good: g.key.token(good, alg="none"),
    "HS256 with the public key": lambda g, _, good: g.key.token(good, alg="HS256"),
    # Signed by the issuer's key, with an algorithm its JWKS entry does not name.
    "RS384 with an RS256 key": lambda g, _, good: g.key.token(good, alg="RS384"),
    "not a JWT": lambda g, _, good: "not-a-jwt",
}


@pytest.fixture(scope="module")
def impostor() -> SigningKey:
    return SigningKey()


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_an_invalid_token_is_refused_with_401(
    gateway: Gateway, impostor: SigningKey, kind: str
) -> None:
    token = BAD_TOKENS[kind](gateway, impostor, claims(gateway.issuer, AUDIENCE, "mallory"))
    path = f"/accounts/{uuid.uuid4()}/statement"
    with gateway.client(None) as client:
        response = client.get(path, headers={"authorization": f"Bearer {token}"})
    assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="paystream", error="invalid_token"'
    )
    assert gateway.received("account-statement-query-api", f"GET {path}") == 0


# --- retries: only what is idempotent ---


def fail_once() -> dict[str, str]:
    return {FAIL_ONCE: str(uuid.uuid4())}


def test_a_get_is_retried_after_a_503(gateway: Gateway) -> None:
    path = f"/payments/{uuid.uuid4()}"
    with gateway.client("retrier") as client:
        response = client.get(path, headers=fail_once())
    assert response.status_code == 200
    assert gateway.received("payments-query-api", f"GET {path}") == 2


def test_a_post_with_an_idempotency_key_is_retried_after_a_503(gateway: Gateway) -> None:
    path = f"/accounts/{uuid.uuid4()}/deposits"
    headers = fail_once() | {"idempotency-key": str(uuid.uuid4())}
    with gateway.client("retrier") as client:
        response = client.post(path, json={"amount": 1}, headers=headers)
    assert response.status_code == 200
    assert gateway.received(REPLICATED, f"POST {path}") == 2


def test_a_post_without_an_idempotency_key_is_not_retried(gateway: Gateway) -> None:
    path = f"/accounts/{uuid.uuid4()}/deposits"
    with gateway.client("retrier") as client:
        response = client.post(path, json={"amount": 1}, headers=fail_once())
    assert response.status_code == 503
    assert response.json() == {"failing": response.request.headers[FAIL_ONCE]}
    assert gateway.received(REPLICATED, f"POST {path}") == 1


# --- replicas and health ---


def replica_health(gateway: Gateway, port: int) -> str:
    """The health flags Envoy's admin reports for the replica on `port`."""
    text = httpx.get(f"{gateway.envoy.admin_url}/clusters").text
    prefix = f"{REPLICATED}::127.0.0.1:{port}::health_flags::"
    return next(line for line in text.splitlines() if line.startswith(prefix)).removeprefix(prefix)


@dataclass
class Load:
    """Keyed POSTs to the replicated service from a few threads until stopped, each thread
    from its own address, each request as its own subject, at most PACE_SECONDS apart (so
    no rate limit is in the way): the answers' statuses and replicas."""

    gateway: Gateway
    answers: list[tuple[int, int | None]]
    stopping: threading.Event

    def run(self, worker: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{worker + 1}")
        with self.gateway.client(None, transport=transport) as client:
            while not self.stopping.wait(PACE_SECONDS):
                headers = {
                    "authorization": f"Bearer {self.gateway.token(str(uuid.uuid4()))}",
                    "idempotency-key": str(uuid.uuid4()),
                }
                response = client.post(f"/accounts/{ACCOUNT}/freeze", headers=headers)
                replica = response.json().get("replica") if response.status_code == 200 else None
                self.answers.append((response.status_code, replica))

    def after(self, more: int, what: str) -> None:
        """Wait until `more` answers came in from now on."""
        target = len(self.answers) + more
        wait_until(lambda: len(self.answers) >= target, 10, what)


def test_a_stopped_replica_drops_out_under_load_and_comes_back(gateway: Gateway) -> None:
    first, second = gateway.upstreams[REPLICATED]
    load = Load(gateway, [], threading.Event())
    with ThreadPoolExecutor(3) as pool:
        workers = [pool.submit(load.run, worker) for worker in range(3)]
        try:
            load.after(15, "answers from both replicas")
            second.stop()
            wait_until(
                lambda: "failed_active_hc" in replica_health(gateway, second.port),
                10,
                "the health check to mark the stopped replica",
            )
            load.after(15, "answers with one replica")
            alone = len(load.answers)
            second.start()
            load.after(15, "answers after the restart")
            wait_until(
                lambda: (200, second.replica) in load.answers[alone:],
                10,
                "the restarted replica to take requests again",
            )
        finally:
            load.stopping.set()
            for worker in workers:
                worker.result()
    assert [answer for answer in load.answers if answer[0] != 200] == []
    assert {replica for _, replica in load.answers} == {first.replica, second.replica}


# --- rate limits ---


def first_refusal(
    client: httpx.Client, method: str, path: str, limit: int
) -> tuple[int, httpx.Response]:
    """How many requests passed before the first 429, and the 429 (within `limit` tries)."""
    for sent in range(limit):
        response = client.request(method, path)
        if response.status_code == 429:
            return sent, response
        assert response.status_code in (200, 401), response.text
    raise AssertionError(f"no 429 in {limit} requests")


def assert_rate_limited(response: httpx.Response, bucket: TokenBucket) -> None:
    assert_problem(response, 429, "rate-limited")
    assert response.headers["retry-after"] == str(bucket.retry_after)
    # The refusing limit's values come first; a limit the request passed adds its own.
    assert response.headers["x-ratelimit-limit"].split(",")[0] == str(bucket.max_tokens)
    assert response.headers["x-ratelimit-remaining"].split(",")[0] == "0"


def test_a_subject_over_its_limit_gets_429(gateway: Gateway) -> None:
    with gateway.client("bursty") as client:
        passed, refused = first_refusal(client, "GET", f"/accounts/{ACCOUNT}", 200)
    assert passed >= PER_SUBJECT.max_tokens
    assert_rate_limited(refused, PER_SUBJECT)
    with gateway.client("calm") as other:
        assert other.get(f"/accounts/{ACCOUNT}").status_code == 200


def test_payment_creations_have_a_tighter_limit_of_their_own(gateway: Gateway) -> None:
    with gateway.client("payer") as client:
        passed, refused = first_refusal(client, "POST", "/payments", 50)
        assert PAYMENT_CREATIONS.max_tokens <= passed < PER_SUBJECT.max_tokens
        assert_rate_limited(refused, PAYMENT_CREATIONS)
        assert client.get("/payments").status_code == 200


def test_a_client_address_over_its_limit_gets_429_even_without_a_token(gateway: Gateway) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with gateway.client(None, transport=transport) as client:
        passed, refused = first_refusal(client, "GET", f"/accounts/{ACCOUNT}", 2000)
    assert passed >= PER_CLIENT_IP.max_tokens
    assert_rate_limited(refused, PER_CLIENT_IP)


def test_the_admitted_rate_over_a_window_is_the_configured_one(gateway: Gateway) -> None:
    """As fast as one client can, for ACCURACY_WINDOW seconds: the burst, then the rate."""
    transport = httpx.HTTPTransport(local_address="127.0.0.3")
    admitted = 0
    with gateway.client("measured", transport=transport) as client:
        started = time.monotonic()
        while time.monotonic() - started < ACCURACY_WINDOW:
            admitted += client.get("/payments").status_code == 200
        elapsed = time.monotonic() - started
    rate = PER_SUBJECT.tokens_per_fill / PER_SUBJECT.fill_seconds
    expected = PER_SUBJECT.max_tokens + rate * elapsed
    assert abs(admitted - expected) <= 0.1 * expected, (admitted, expected)


# --- bulkheads ---


def test_a_full_bulkhead_answers_503_at_once_instead_of_queueing(gateway: Gateway) -> None:
    """One request in flight, one pending: the next is refused, not queued."""
    slow_path = f"/analytics/daily?slow={uuid.uuid4()}"
    with gateway.client("patient") as client, ThreadPoolExecutor(3) as pool:
        slow = pool.submit(client.get, slow_path, headers={DELAY: str(SLOW_SECONDS)})
        wait_until(
            lambda: gateway.received(SLOW_SERVICE, f"GET {slow_path}") == 1,
            10,
            "the slow request to be in flight",
        )
        others = [pool.submit(client.get, "/analytics/daily") for _ in range(2)]
        answers = [call.result() for call in others]
        assert slow.result().status_code == 200
    # One of them may wait as the pending request; with two Envoy workers, both may be refused.
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, [answer.status_code for answer in answers]
    assert all(answer.status_code in (200, 503) for answer in answers)
    assert_problem(refused[0], 503, "upstream-unavailable")
    assert refused[0].headers["x-envoy-overloaded"] == "true"
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].elapsed.total_seconds() < SLOW_SECONDS


# --- operations ---


def test_the_admin_interface_serves_prometheus_stats_on_loopback(gateway: Gateway) -> None:
    assert gateway.envoy.admin_url.startswith("http://127.0.0.1:")
    stats = httpx.get(f"{gateway.envoy.admin_url}/stats/prometheus").text
    assert "envoy_cluster_upstream_rq_total" in stats
    # The 429s the gateway answers, by limit (docs/architecture.md, Observability: metrics).
    for limit in ("subject", "client_ip"):
        prefix = f'envoy_local_http_ratelimit_prefix="rate_limit_{limit}"'
        assert f"envoy_http_local_rate_limit_rate_limited{{{prefix}}}" in stats, limit


def test_each_request_is_an_access_log_json_line(gateway: Gateway) -> None:
    with gateway.client("logged") as client:
        request_id = client.get(f"/accounts/{ACCOUNT}").headers["x-request-id"]

    def logged() -> list[dict[str, Any]]:
        lines = Path(gateway.envoy.log_file).read_text().splitlines()
        return [json.loads(line) for line in lines if request_id in line]

    wait_until(lambda: bool(logged()), 10, "the access log line")
    entry = logged()[0]
    assert (entry["subject"], entry["status"], entry["upstream"]) == (
        "logged",
        200,
        "account-summary-query-api",
    )


def test_the_stats_listener_serves_the_gateways_metrics_and_no_other_admin_path(
    gateway: Gateway,
) -> None:
    """What compose's Prometheus scrapes: the admin's /stats/prometheus, and only that
    (the admin interface, on loopback, could also stop the gateway)."""
    listeners = gateway.envoy.config["static_resources"]["listeners"]
    [socket] = [item["address"]["socket_address"] for item in listeners if item["name"] == "stats"]
    url = f"http://{socket['address']}:{socket['port_value']}"

    scraped = httpx.get(f"{url}{STATS_PATH}", timeout=10.0)

    assert scraped.status_code == 200, scraped.text
    assert "envoy_server_live" in scraped.text
    assert "envoy_http_local_rate_limit_rate_limited" in scraped.text
    for method, path in [
        ("POST", "/quitquitquit"),
        ("POST", "/healthcheck/fail"),
        ("GET", "/config_dump"),
        ("GET", "/stats"),
        ("POST", STATS_PATH),
    ]:
        assert httpx.request(method, f"{url}{path}", timeout=10.0).status_code == 404, path
    assert gateway.envoy.is_ready()
