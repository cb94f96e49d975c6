"""PAYSTREAM_METRICS, in process: read as on or off (anything else refused at start, in
one line); off, an app has no /metrics (404) and still serves commands, and the code
that counts (the store, relay, projector, saga, consistency waits) changes no series."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from api import accounts_app, consistency_metrics
from domains.accounts.application import AccountsService
from eventstore.metrics_switch import metrics_on, switch_metrics
from eventstore.relay_metrics import RelayMetrics
from eventstore.settings import MetricsSettings
from eventstore.store_metrics import count_replay, measured_append
from projections.projector_metrics import ProjectorMetrics
from saga import saga_metrics
from scripts.cli.errors import CANNOT_RUN
from tests.api.conftest import IN_MEMORY, bearer
from tests.support.cli import paystream
from tests.support.issuer import DevIssuer


def every_paystream_sample() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in REGISTRY.collect()
        if family.name.startswith("paystream_")
        for sample in family.samples
    }


@pytest.fixture
def metrics_off() -> Iterator[None]:
    """This process's metrics off for the test, on again after it."""
    switch_metrics(False)
    try:
        yield
    finally:
        switch_metrics(True)


@pytest.mark.parametrize("given", ["off", "OFF", "false", "False", "0", " off "])
def test_off_false_and_0_turn_metrics_off(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_METRICS", given)

    assert MetricsSettings().enabled() is False


@pytest.mark.parametrize("given", ["on", "true", "1", "ON", None])
def test_metrics_are_on_unless_said_off(given: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if given is None:
        monkeypatch.delenv("PAYSTREAM_METRICS", raising=False)
    else:
        monkeypatch.setenv("PAYSTREAM_METRICS", given)

    assert MetricsSettings().enabled() is True


def test_a_value_neither_on_nor_off_stops_a_service_at_start_in_one_line() -> None:
    result = paystream("", "serve", "accounts-api", env={"PAYSTREAM_METRICS": "sometimes"})

    assert result.returncode == CANNOT_RUN, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line == (
        "error: PAYSTREAM_METRICS is 'sometimes': say on (on, true, 1) or off (off, false, 0)"
    )
    assert metrics_on()


def test_with_metrics_off_an_app_has_no_metrics_and_serves_commands(
    metrics_off: None, issuer: DevIssuer
) -> None:
    app = accounts_app.create_app(lambda: AccountsService(env=IN_MEMORY), issuer.verifier())
    before = every_paystream_sample()

    with TestClient(app, headers=bearer(issuer.mint("ada"))) as client:
        assert client.get("/metrics").status_code == 404
        opened = client.post("/accounts", json={"owner": "Nemo", "currency": "EUR"})
        assert opened.status_code == 201, opened.text
        deposit = f"/accounts/{opened.json()['account_id']}/deposits"
        assert client.post(deposit, json={"amount": 5}).status_code == 200

    assert "/metrics" not in {getattr(route, "path", "") for route in app.routes}
    assert every_paystream_sample() == before


def test_with_metrics_off_the_code_that_counts_changes_no_series(metrics_off: None) -> None:
    before = every_paystream_sample()

    assert measured_append("accounts", 2, lambda: [1, 2]) == [1, 2]
    count_replay("accounts")
    relay = RelayMetrics("accounts")
    relay.at(7, 9)
    relay.failed(1)
    relay.resynced("publish-failed")
    projector = ProjectorMetrics("switch_test_projection", lambda: False)
    projector.event_applied("accounts")
    projector.dead_lettered()
    with projector.applying("accounts"):
        pass
    saga_metrics.step_carried_out("debit", saga_metrics.DONE)
    saga_metrics.watch_breaker("switch-test", lambda: "closed")
    saga_metrics.payments_pending(3, 1)
    saga_metrics.payment_finished("completed", 0.5)
    consistency_metrics.waited("switch-test", 0.01, timed_out=True)

    assert every_paystream_sample() == before
