"""The gateway in front of the running system: invalid tokens refused at the gateway and at
the services behind it, the payment steps off the public surface, a payment through the
one public port, and a replica stopped under load without losing or doubling a deposit."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from api.consistency import HEADER as CONSISTENCY_HEADER
from eventstore.contexts import ACCOUNTS
from gateway.clusters import HealthCheck
from gateway.rate_limits import RateLimits, TokenBucket
from identity.issuer_directory import IssuerDirectory
from identity.minting import TokenMinter
from identity.settings import DEFAULT_AUDIENCE
from scripts.devstack.supervisor import ServiceProcess
from tests.support.accounts_client import assert_problem, open_account
from tests.support.readme import run_readme_block
from tests.support.stack import Stack, StackGateway, wait_until

pytestmark = pytest.mark.e2e

REPLICATED = "accounts-api"
# The rate limits are tested elsewhere (tests/integration/test_gateway.py); out of the way here.
UNLIMITED = TokenBucket(100_000, 100_000)
RATE_LIMITS = RateLimits(UNLIMITED, UNLIMITED, UNLIMITED)
# A replica ejected after failures (a kill) is out for ejection_seconds x its ejections,
# even once healthy again: short here, so the restarted one is back quickly.
HEALTH = HealthCheck(interval_seconds=0.2, timeout_seconds=0.5, ejection_seconds=1.0)
LOAD_WORKERS = 2
STEPS = ("debits", "credits", "refunds")


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[StackGateway]:
    """One Envoy for the module, with two replicas of the accounts API behind it."""
    with stack.gateway({REPLICATED: 2}, RATE_LIMITS, HEALTH) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: Stack, gateway: StackGateway) -> Iterator[httpx.Client]:
    """A customer's client of the gateway."""
    with httpx.Client(base_url=gateway.url, headers=stack.auth("gwen"), timeout=30) as found:
        yield found


# --- tokens: refused at the gateway, and by the service when the gateway is bypassed ---


def minter(stack: Stack, issuer: str | None = None) -> TokenMinter:
    """Signs with the stack issuer's current key, as `issuer` (the stack's by default)."""
    return TokenMinter(IssuerDirectory(stack.issuer_dir).keyring, issuer or stack.url_of("issuer"))


def b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def resigned(stack: Stack) -> str:
    """A valid token whose claims were changed after signing (the signature no longer fits)."""
    header, payload, signature = stack.token("mallory").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64(claims | {'sub': 'alice'})}.{signature}"


def unsigned(stack: Stack) -> str:
    """A valid token's claims under `alg: none`, with no signature."""
    header, payload, _ = stack.token("mallory").split(".")
    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}."


BAD_TOKENS: dict[str, Callable[[Stack], str]] = {
    "expired": lambda s: minter(s).mint(
        "mallory", ["customer"], 60, DEFAULT_AUDIENCE, now=time.time() - 3600
    ),
    "wrong audience": lambda s: minter(s).mint("mallory", ["customer"], 300, "someone-else"),
    "wrong issuer": lambda s: minter(s, "http://evil.test").mint(
        "mallory", ["customer"], 300, DEFAULT_AUDIENCE
    ),
    "bad signature": resigned,
    "alg none": unsigned,
}
# A read and a command, each at the gateway and at the service that answers it.
TARGETS = {"read": ("GET", "account-summary-query-api"), "command": ("POST", REPLICATED)}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kind", ["no token", *BAD_TOKENS])
def test_a_missing_or_invalid_token_is_401_at_the_gateway_and_at_the_service(
    stack: Stack, gateway: StackGateway, kind: str, target: str
) -> None:
    method, service = TARGETS[target]
    path = f"/accounts/{uuid.uuid4()}" if method == "GET" else "/accounts"
    token = BAD_TOKENS[kind](stack) if kind in BAD_TOKENS else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"owner": "Mallory", "currency": "EUR"} if method == "POST" else None
    events = stack.event_count(ACCOUNTS)

    expected = "/problems/invalid-token" if token else "/problems/authentication-required"
    for base in (gateway.url, stack.url(service)):
        response = httpx.request(method, base + path, json=body, headers=headers, timeout=30)
        assert_unauthorized(response)
        assert response.json()["type"] == expected, (base, response.text)

    assert stack.event_count(ACCOUNTS) == events


def test_a_valid_token_passes_the_gateway_with_a_request_id(client: httpx.Client) -> None:
    response = client.post("/accounts", json={"owner": "Gwen", "currency": "EUR"})

    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"]


# --- the payment steps are not public, whoever asks ---


def saga_token(stack: Stack) -> str:
    """The saga's service identity, as it gets it by client credentials."""
    return minter(stack).mint("saga", ["service"], 300, DEFAULT_AUDIENCE, client_id="saga")


@pytest.mark.parametrize("step", STEPS)
def test_a_payment_step_is_404_at_the_gateway_even_with_the_sagas_token(
    stack: Stack, gateway: StackGateway, step: str
) -> None:
    path = f"/accounts/{uuid.uuid4()}/{step}"
    headers = {"Authorization": f"Bearer {saga_token(stack)}", "Idempotency-Key": "p:debit"}

    at_gateway = httpx.post(gateway.url + path, json={}, headers=headers, timeout=30)
    at_service = httpx.post(stack.url(REPLICATED) + path, json={}, headers=headers, timeout=30)

    problem = assert_problem(at_gateway, 404, "not-found")
    assert problem["detail"] == "no public route for this method and path"
    # The token is one the service lets run the steps: only the body is wrong there.
    assert_problem(at_service, 422, "validation-error")


# --- a payment through the one public port ---


def test_a_payment_through_the_gateway_completes(client: httpx.Client) -> None:
    source, destination = open_account(client, "Gwen"), open_account(client, "Gwen's savings")
    deposit = client.post(f"/accounts/{source}/deposits", json={"amount": 5000})
    assert deposit.status_code == 200, deposit.text
    body = {"source": source, "destination": destination, "amount": 1200, "currency": "EUR"}

    accepted = client.post(
        "/payments",
        json=body,
        headers={CONSISTENCY_HEADER: deposit.headers[CONSISTENCY_HEADER]},
    )
    assert accepted.status_code == 202, accepted.text
    payment = f"/payments/{accepted.json()['payment_id']}"

    def status() -> object:
        return client.get(payment).json().get("status")

    wait_until(lambda: status() in ("completed", "failed"), 60, "the payment to end")
    assert status() == "completed"
    wait_until(
        lambda: client.get(f"/accounts/{destination}").json().get("balance") == 1200,
        30,
        "the destination's summary to show the payment",
    )


def test_the_readme_gateway_session_works_as_written(stack: Stack, gateway: StackGateway) -> None:
    result = run_readme_block(
        "GATEWAY=http://127.0.0.1:8000\nTOKEN=", {}, stack, {"8000": gateway.url}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("401\n")
    assert '"balance":10000,"status":"open"' in result.stdout
    assert '"type":"/problems/not-found"' in result.stdout


# --- a replica stopped under load ---


@dataclass
class KeyedDeposits:
    """Deposits to one account through the gateway from a few threads until stopped, each
    with its own Idempotency-Key; a failed one is sent again with the same key (at most
    RETRIES times) until it succeeds."""

    url: str
    headers: dict[str, str]
    account: str
    acknowledged: list[tuple[int, str]] = field(default_factory=list)  # amount, token
    failures: dict[str, list[str]] = field(default_factory=dict)  # by key
    stopping: threading.Event = field(default_factory=threading.Event)

    RETRIES = 50

    def run(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as client:
            sent = 0
            while not self.stopping.is_set():
                sent += 1
                self.deposit(client, f"load-{worker}-{sent}-{uuid.uuid4()}", 1 + sent % 7)

    def deposit(self, client: httpx.Client, key: str, amount: int) -> None:
        for _ in range(self.RETRIES):
            try:
                response = client.post(
                    f"/accounts/{self.account}/deposits",
                    json={"amount": amount},
                    headers={"Idempotency-Key": key},
                )
            except httpx.TransportError as error:
                self.failures.setdefault(key, []).append(type(error).__name__)
                continue
            if response.status_code == 200:
                self.acknowledged.append((amount, response.headers[CONSISTENCY_HEADER]))
                return
            self.failures.setdefault(key, []).append(f"{response.status_code} {response.text}")
        raise AssertionError(f"deposit {key} failed {self.RETRIES} times: {self.failures[key]}")

    def after(self, more: int, what: str) -> None:
        """Wait until `more` deposits are acknowledged from now on."""
        target = len(self.acknowledged) + more
        wait_until(lambda: len(self.acknowledged) >= target, 30, what)


def health(gateway: StackGateway, port: int) -> str:
    """Envoy's health flags of the accounts API replica on `port`."""
    text = httpx.get(f"{gateway.envoy.admin_url}/clusters", timeout=5).text
    prefix = f"{REPLICATED}::127.0.0.1:{port}::health_flags::"
    return next(line for line in text.splitlines() if line.startswith(prefix)).removeprefix(prefix)


def served_by(gateway: StackGateway, port: int) -> int:
    """How many requests Envoy's access log shows answered by the replica on `port`."""
    lines = gateway.envoy.log_file.read_text(errors="replace").splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    host = f"127.0.0.1:{port}"
    return sum(1 for entry in entries if entry.get("upstream_host") == host)


def stop_under_load(
    gateway: StackGateway, replica: ServiceProcess, load: KeyedDeposits, stop: Callable[[], None]
) -> None:
    """`stop` the replica under load: Envoy marks it and the other takes every deposit."""
    load.after(20, "deposits through both replicas")
    stop()
    wait_until(
        lambda: "failed_active_hc" in health(gateway, replica.port),
        10,
        "the health check to mark the stopped replica",
    )
    load.after(20, "deposits through the other replica alone")


def restart_under_load(gateway: StackGateway, replica: ServiceProcess) -> None:
    """Restart the stopped replica: once ready, it takes deposits again."""
    served = served_by(gateway, replica.port)
    replica.start()
    wait_until(
        lambda: served_by(gateway, replica.port) > served,
        60,
        "the restarted replica to take deposits again",
    )
    assert health(gateway, replica.port) == "healthy"


def test_a_replica_stopped_under_load_loses_no_deposit_and_is_taken_back(
    stack: Stack, gateway: StackGateway, client: httpx.Client
) -> None:
    account = open_account(client, "Gwen's till")
    replica = gateway.processes[REPLICATED][-1]
    load = KeyedDeposits(gateway.url, stack.auth("gwen"), account)
    with ThreadPoolExecutor(LOAD_WORKERS) as pool:
        workers = [pool.submit(load.run, worker) for worker in range(LOAD_WORKERS)]
        try:
            stop_under_load(gateway, replica, load, replica.kill)  # SIGKILL: resets in flight
            restart_under_load(gateway, replica)
            stop_under_load(gateway, replica, load, replica.stop)  # SIGTERM: a graceful stop
        finally:
            load.stopping.set()
            for worker in workers:
                worker.result()

    # Only requests in flight when a replica stopped may fail (one per thread each time),
    # and each of those succeeded when sent again with its key.
    assert len(load.failures) <= LOAD_WORKERS * 2, load.failures
    position = max(int(token.split(":")[1]) for _, token in load.acknowledged)
    summary = client.get(
        f"/accounts/{account}", headers={CONSISTENCY_HEADER: f"accounts:{position}"}
    )
    assert summary.status_code == 200, summary.text
    # Each acknowledged deposit counted exactly once, retried or not.
    assert summary.json()["balance"] == sum(amount for amount, _ in load.acknowledged)
