"""/metrics on every app, in process: open without a token, out of the OpenAPI documents,
labelled by route templates; a command moves the HTTP and event-store series it should."""

from __future__ import annotations

from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.health import worker_app
from api.service_app import service_app
from domains.service import CommandService
from tests.support.metrics import Samples, names, scrape, value
from tests.support.public_apps import public_apps

REQUESTS = "paystream_http_requests_total"
DURATION = "paystream_http_request_duration_seconds_count"
APPENDS = "paystream_event_store_appends_total"
EVENTS = "paystream_event_store_events_appended_total"
PER_APPEND = "paystream_event_store_events_per_append_count"
CONFLICTS = "paystream_event_store_version_conflicts_total"
REPLAYS = "paystream_event_store_idempotent_replays_total"
ACCOUNTS = {"context": "accounts"}


async def nothing_missing() -> list[str]:
    return []


def worker() -> FastAPI:
    return worker_app("relay test", nothing_missing, lambda: {"published_position": 0})


APPS = {**public_apps(), "worker": worker()}


def requests(samples: Samples, route: str, method: str, status: int) -> float:
    return value(samples, REQUESTS, {"route": route, "method": method, "status": str(status)})


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_app_serves_metrics_without_a_token_and_keeps_them_out_of_its_document(
    name: str,
) -> None:
    app = APPS[name]
    client = TestClient(app)  # no token, no lifespan: nothing but the process
    first = scrape(client)
    samples = scrape(client)
    assert {REQUESTS, "process_cpu_seconds_total"} <= names(samples)
    assert requests(samples, "/metrics", "GET", 200) >= requests(first, "/metrics", "GET", 200) + 1
    assert "/metrics" not in app.openapi()["paths"]


def test_a_command_is_counted_by_route_template_and_its_events_as_one_append(
    accounts: TestClient,
) -> None:
    opened = accounts.post("/accounts", json={"owner": "Metra", "currency": "EUR"})
    account = opened.json()["account_id"]
    before = scrape(accounts)

    deposited = accounts.post(f"/accounts/{account}/deposits", json={"amount": 5})

    assert deposited.status_code == 200, deposited.text
    after = scrape(accounts)
    route = "/accounts/{account_id}/deposits"
    assert requests(after, route, "POST", 200) == requests(before, route, "POST", 200) + 1
    duration = {"route": route, "method": "POST"}
    assert value(after, DURATION, duration) == value(before, DURATION, duration) + 1
    assert value(after, APPENDS, ACCOUNTS) == value(before, APPENDS, ACCOUNTS) + 1
    assert value(after, EVENTS, ACCOUNTS) == value(before, EVENTS, ACCOUNTS) + 1
    assert value(after, PER_APPEND, ACCOUNTS) == value(before, PER_APPEND, ACCOUNTS) + 1
    text = accounts.get("/metrics").text
    assert account not in text, "a raw path (an id) became a label"


def test_a_retried_idempotency_key_counts_a_replay_and_appends_nothing(
    accounts: TestClient,
) -> None:
    account = accounts.post("/accounts", json={"owner": "Ida", "currency": "EUR"}).json()
    path = f"/accounts/{account['account_id']}/deposits"
    key = {"Idempotency-Key": "metrics-replay-1"}
    assert accounts.post(path, json={"amount": 7}, headers=key).status_code == 200
    before = scrape(accounts)

    again = accounts.post(path, json={"amount": 7}, headers=key)

    assert again.headers["Idempotent-Replayed"] == "true"
    after = scrape(accounts)
    assert value(after, REPLAYS, ACCOUNTS) == value(before, REPLAYS, ACCOUNTS) + 1
    assert value(after, APPENDS, ACCOUNTS) == value(before, APPENDS, ACCOUNTS)


def test_an_append_refused_for_its_version_is_a_version_conflict(accounts: TestClient) -> None:
    account = accounts.post("/accounts", json={"owner": "Vera", "currency": "EUR"}).json()
    service: CommandService = accounts.app.state.service  # type: ignore[attr-defined]
    [opened] = service.recorder.select_events(UUID(account["account_id"]))
    before = scrape(accounts)

    with pytest.raises(IntegrityError):
        service.recorder.insert_events([opened])  # version 1 again: someone was first

    after = scrape(accounts)
    assert value(after, CONFLICTS, ACCOUNTS) == value(before, CONFLICTS, ACCOUNTS) + 1
    assert value(after, APPENDS, ACCOUNTS) == value(before, APPENDS, ACCOUNTS)


def test_refusals_at_the_door_and_unknown_paths_keep_bounded_route_labels(
    accounts: TestClient,
) -> None:
    before = scrape(accounts)

    unknown = accounts.get("/no/such/path/3f2c1f0e")
    too_big = accounts.post(
        "/accounts", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
    )

    assert (unknown.status_code, too_big.status_code) == (404, 413)
    after = scrape(accounts)
    assert requests(after, "unrouted", "GET", 404) == requests(before, "unrouted", "GET", 404) + 1
    assert requests(after, "unrouted", "POST", 413) == requests(before, "unrouted", "POST", 413) + 1
    assert "3f2c1f0e" not in accounts.get("/metrics").text


def test_a_made_up_method_is_counted_as_other(accounts: TestClient) -> None:
    before = scrape(accounts)

    brewed = accounts.request("BREW", "/accounts")

    after = scrape(accounts)
    status = brewed.status_code
    assert requests(after, "/accounts", "other", status) == (
        requests(before, "/accounts", "other", status) + 1
    )
    assert "BREW" not in accounts.get("/metrics").text


def test_an_exception_in_a_route_is_counted_as_a_5xx() -> None:
    app = service_app("failing")

    @app.get("/fails/{n}")
    def fails(n: int) -> None:
        raise RuntimeError(f"failure {n}")

    client = TestClient(app, raise_server_exceptions=False)
    before = scrape(client)

    assert client.get("/fails/1").status_code == 500

    after = scrape(client)
    assert (
        requests(after, "/fails/{n}", "GET", 500) == requests(before, "/fails/{n}", "GET", 500) + 1
    )


def test_an_app_built_twice_in_one_process_shares_its_metrics() -> None:
    first, second = TestClient(worker()), TestClient(worker())
    first.get("/healthz")
    before = scrape(second)

    second.get("/healthz")

    assert (
        requests(scrape(first), "/healthz", "GET", 200)
        == requests(before, "/healthz", "GET", 200) + 1
    )
