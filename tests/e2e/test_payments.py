"""Payments across services: every payment ends, no money appears or disappears."""

from __future__ import annotations

import subprocess
from uuid import UUID

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from domains.payments.application import PaymentsService
from eventstore.contexts import PAYMENTS, application_env
from tests.e2e.chaos import Chaos
from tests.e2e.payments_workload import (
    Ledger,
    all_finished,
    balances,
    causal_events,
    disturb_accounts,
    open_funded_accounts,
    send_payments,
    step_counts,
)
from tests.e2e.read_model_checks import check_read_models_agree, url
from tests.e2e.test_readme import readme_block
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.e2e
README_PORTS = {
    "8001": "accounts-api",
    "8011": "payments-api",
    "8004": "payments-query-api",
    "8003": "statement-query-api",
    "8005": "notifications-query-api",
}

SERVICES = (
    "relay-accounts",
    "relay-payments",
    "projector-account-summary",
    "projector-account-statement",
    "projector-notifications",
    "projector-payments",
    "accounts-api",
    "accounts-query-api",
    "statement-query-api",
    "notifications-query-api",
    "payments-query-api",
    "payments-api",
    "saga",
)


@pytest.fixture(scope="module")
def running(stack: Stack) -> Stack:
    for name in SERVICES:
        stack.start(name)
    return stack


def payment_url(stack: Stack) -> str:
    return next(p.url for p in stack.processes if p.spec.name == "payments-api")


def check_money_is_conserved(stack: Stack, ledger: Ledger) -> None:
    final = balances(stack, ledger)
    assert sum(final.values()) == ledger.deposited - ledger.withdrawn
    assert min(final.values()) >= 0


def check_each_step_ran_once(stack: Stack, ledger: Ledger) -> None:
    """One debit, at most one credit and one refund per payment, matching its outcome."""
    counts = step_counts(stack)
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    outcomes: set[str] = set()
    for payment_id in ledger.payments:
        payment = service.get_payment(UUID(payment_id))
        outcomes.add(f"{payment.status}:{payment.failure_reason}")
        debited = payment.status == "completed" or payment.failure_reason != "insufficient-funds"
        debits = counts["AccountDebited.v1"][payment_id]
        credits = counts["AccountCredited.v1"][payment_id]
        refunds = counts["AccountDebitRefunded.v1"][payment_id]
        assert debits <= 1 and credits <= 1 and refunds <= 1, payment_id
        if payment.status == "completed":
            assert (debits, credits, refunds) == (1, 1, 0), payment_id
        elif debits:
            assert (credits, refunds) == (0, 1), payment_id
        else:
            assert not debited or payment.failure_reason, payment_id
    service.close()
    # The run exercised every path: completions, overdrafts, refused credits with refunds.
    assert {"completed:None", "failed:insufficient-funds", "failed:account-frozen"} <= outcomes


def test_concurrent_payments_all_end_and_conserve_money(running: Stack) -> None:
    ledger = Ledger()
    token = open_funded_accounts(running.url_of("accounts-api"), 20, ledger)

    send_payments(payment_url(running), ledger, 100, token, seed=1)
    disturb_accounts(running.url_of("accounts-api"), ledger)
    send_payments(payment_url(running), ledger, 100, token, seed=2)
    wait_until(lambda: all_finished(running, ledger), 120, "every payment to finish")

    check_money_is_conserved(running, ledger)
    check_each_step_ran_once(running, ledger)
    check_read_models_agree(running, ledger)


def test_payments_survive_saga_kills_and_an_accounts_outage(running: Stack) -> None:
    ledger = Ledger()
    token = open_funded_accounts(running.url_of("accounts-api"), 20, ledger)
    chaos = Chaos(running)
    chaos.start()

    send_payments(payment_url(running), ledger, 100, token, seed=3)  # during the outage
    chaos.accounts_back.wait(30)
    disturb_accounts(running.url_of("accounts-api"), ledger)
    send_payments(payment_url(running), ledger, 100, token, seed=4)  # during the saga kills
    chaos.finish()
    wait_until(lambda: all_finished(running, ledger), 180, "every payment to finish")

    assert chaos.saga_kills == 3 and chaos.accounts_outages == 1
    check_money_is_conserved(running, ledger)
    check_each_step_ran_once(running, ledger)
    check_read_models_agree(running, ledger)


@pytest.mark.parametrize("run", ["first", "second"])
def test_the_readme_payment_session_works_as_written_and_again(run: str, running: Stack) -> None:
    """As written, and a second time on the same system (its keys are the run's own)."""
    script = readme_block("PAY=")
    for port, name in README_PORTS.items():
        script = script.replace(f"http://127.0.0.1:{port}", url(running, name))

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert '"status":"completed"' in result.stdout
    assert '"failure_reason":"account-frozen","refunded":true' in result.stdout
    assert '"kind":"payment_refund"' in result.stdout
    assert '"kind":"payment_failed"' in result.stdout
    assert "/problems/same-account" in result.stdout


def test_a_payment_saga_carries_its_correlation_and_causation(running: Stack) -> None:
    """Every event a payment causes shares its correlation id; each names its cause."""
    ledger = Ledger()
    token = open_funded_accounts(running.url_of("accounts-api"), 2, ledger)
    ledger.accounts.reverse()  # pay from the funded second account too
    send_payments(payment_url(running), ledger, 1, token, seed=9)
    wait_until(lambda: all_finished(running, ledger), 60, "the payment to finish")

    events = causal_events(running, ledger.payments[0])

    assert len({e["correlation_id"] for e in events}) == 1
    ids = {e["id"] for e in events}
    caused = [e for e in events if e["id"] != events[0]["id"]]
    assert caused and all(e["causation_id"] in ids for e in caused)
    assert {e["actor"] for e in caused} == {"saga"}


def test_a_payments_location_is_where_the_payment_is_read(running: Stack) -> None:
    """The 202's Location is the payment on the payments query API (the payments API
    serves no reads): followed with the answer's token, it reads the payment accepted."""
    ledger = Ledger()
    token = open_funded_accounts(running.url_of("accounts-api"), 2, ledger)
    source, destination = ledger.accounts
    body = {"source": source, "destination": destination, "amount": 5, "currency": "EUR"}

    accepted = httpx.post(
        f"{payment_url(running)}/payments", json=body, headers={TOKEN_HEADER: token}, timeout=30
    )
    assert accepted.status_code == 202, accepted.text
    answer = accepted.json()
    read = httpx.get(
        accepted.headers["Location"],
        headers={TOKEN_HEADER: answer["consistency_token"]},
        timeout=30,
    )

    assert accepted.headers["Location"].startswith(url(running, "payments-query-api") + "/")
    assert read.status_code == 200, read.text
    assert read.json()["payment_id"] == answer["payment_id"]
    assert (read.json()["source"], read.json()["amount"]) == (source, 5)
