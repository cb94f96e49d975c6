"""/metrics on the running system: every service serves its own series, and one payment
refused at its debit moves the series of every service it crosses, read as Prometheus
would read them, over HTTP. The public gateway does not route /metrics."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from tests.support.accounts_client import command, open_account
from tests.support.metrics import Samples, names, scrape_url, value
from tests.support.stack import StackGateway, wait_until

pytestmark = pytest.mark.e2e
# A series each kind of service shows from its start, before any traffic.
OWN_SERIES = {
    "relay": "paystream_relay_published_position",
    "projector": "paystream_projection_halted",
    "saga": "paystream_saga_payments_in_flight",
}
PAYMENTS = {"context": "payments"}
PAYMENTS_PROJECTION = {"projection": "payments", "source": "payments"}
DEBIT_REFUSED = {"step": "debit", "outcome": "refused"}
FAILED = {"outcome": "failed"}


def own_series(name: str) -> str | None:
    return next((series for kind, series in OWN_SERIES.items() if name.startswith(kind)), None)


def test_every_service_serves_its_metrics_and_its_own_series(services: dict[str, str]) -> None:
    for name, url in services.items():
        samples = scrape_url(url)
        assert {"paystream_http_requests_total", "process_cpu_seconds_total"} <= names(samples), (
            name
        )
        if (series := own_series(name)) is not None:
            assert series in names(samples), name


def test_the_gateway_does_not_route_metrics(
    public_gateway: StackGateway, auth: dict[str, str]
) -> None:
    """Not even for a caller with a valid token (without one, the gateway says 401 first)."""
    answer = httpx.get(f"{public_gateway.url}/metrics", headers=auth, timeout=10)
    assert answer.status_code == 404, answer.text


def moved(url: str, before: Samples, check: Callable[[Samples, Samples], bool]) -> bool:
    return check(before, scrape_url(url))


def test_a_refused_payment_moves_the_metrics_of_every_service_it_crosses(
    services: dict[str, str], commands: httpx.Client
) -> None:
    crossed = (
        "accounts-api",
        "payments-api",
        "relay-payments",
        "projector-payments",
        "saga",
        "payments-query-api",
    )
    before = {name: scrape_url(services[name]) for name in crossed}
    poor, payee = open_account(commands, "Metra"), open_account(commands, "Payee")
    deposited = command(commands, poor, "deposits", {"amount": 10})

    paid = httpx.post(
        f"{services['payments-api']}/payments",
        json={"source": poor, "destination": payee, "amount": 1000, "currency": "EUR"},
        headers={**commands.headers, TOKEN_HEADER: deposited.headers[TOKEN_HEADER]},
        timeout=30,
    )
    assert paid.status_code == 202, paid.text
    token = paid.headers[TOKEN_HEADER]
    position = ConsistencyToken.parse(token).position
    read = httpx.get(
        f"{services['payments-query-api']}/payments/{paid.json()['payment_id']}",
        headers={**commands.headers, TOKEN_HEADER: token},
        timeout=30,
    )
    assert read.status_code == 200, read.text

    def saga_moved(old: Samples, new: Samples) -> bool:
        refused = "paystream_saga_steps_total"
        took = "paystream_saga_payment_duration_seconds_count"
        return value(new, refused, DEBIT_REFUSED) > value(old, refused, DEBIT_REFUSED) and (
            value(new, took, FAILED) > value(old, took, FAILED)
        )

    saga = services["saga"]
    wait_until(lambda: moved(saga, before["saga"], saga_moved), 30, "the saga's refused debit")

    def relay_moved(old: Samples, new: Samples) -> bool:
        published = "paystream_relay_events_published_total"
        return value(new, "paystream_relay_published_position", PAYMENTS) >= position and (
            value(new, published, PAYMENTS) > value(old, published, PAYMENTS)
        )

    relay = services["relay-payments"]
    wait_until(lambda: moved(relay, before["relay-payments"], relay_moved), 30, "the relay")

    def projector_moved(old: Samples, new: Samples) -> bool:
        batches = "paystream_projection_batch_size_count"
        applying = "paystream_projection_apply_duration_seconds_count"
        return (
            value(new, "paystream_projection_position", PAYMENTS_PROJECTION) >= position
            and value(new, batches, PAYMENTS_PROJECTION) > value(old, batches, PAYMENTS_PROJECTION)
            and value(new, applying, PAYMENTS_PROJECTION)
            > value(old, applying, PAYMENTS_PROJECTION)
            and ("paystream_projection_lag_events", frozenset(PAYMENTS_PROJECTION.items())) in new
            and ("paystream_projection_lag_seconds", frozenset(PAYMENTS_PROJECTION.items())) in new
        )

    projector = services["projector-payments"]
    wait_until(
        lambda: moved(projector, before["projector-payments"], projector_moved), 30, "projector"
    )

    after = {name: scrape_url(services[name]) for name in ("payments-api", "payments-query-api")}
    appends, requests = "paystream_event_store_appends_total", "paystream_http_requests_total"
    assert value(after["payments-api"], appends, PAYMENTS) > value(
        before["payments-api"], appends, PAYMENTS
    )
    created = {"route": "/payments", "method": "POST", "status": "202"}
    assert value(after["payments-api"], requests, created) == (
        value(before["payments-api"], requests, created) + 1
    )
    waits, of_payments = "paystream_consistency_wait_seconds_count", {"api": "payments"}
    assert value(after["payments-query-api"], waits, of_payments) == (
        value(before["payments-query-api"], waits, of_payments) + 1
    )
