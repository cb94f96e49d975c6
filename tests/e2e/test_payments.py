"""Payments across services: every payment ends, no money appears or disappears."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import httpx
import pytest

from api.consistency import HEADER as TOKEN_HEADER
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from gateway.rate_limits import RateLimits, TokenBucket
from tests.contracts.event_schemas import schema_violations
from tests.support.chaos import SAGA_KILLS, Chaos
from tests.support.payments_workload import (
    Ledger,
    account_steps,
    all_finished,
    balances,
    causal_events,
    disturb_accounts,
    open_funded_accounts,
    recorded_steps,
    send_payments,
)
from tests.support.read_model_checks import check_read_models_agree
from tests.support.readme import run_readme_block
from tests.support.stack import Stack, StackGateway, wait_until

pytestmark = pytest.mark.e2e


def check_money_is_conserved(stack: Stack, ledger: Ledger) -> None:
    final = balances(stack, ledger)
    assert sum(final.values()) == ledger.deposited - ledger.withdrawn
    assert min(final.values()) >= 0


def check_each_step_ran_once(stack: Stack, ledger: Ledger) -> None:
    """Each payment's account steps are exactly the steps it recorded, each once, and they
    match its outcome: completed (debit, credit), refused at the debit (nothing), or
    refused at the credit (debit, refund)."""
    done, recorded = account_steps(stack), recorded_steps(stack)
    service = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=2))
    outcomes: set[str] = set()
    debit, credit, refund = (
        "PaymentSourceDebited.v1",
        "PaymentDestinationCredited.v1",
        "PaymentSourceRefunded.v1",
    )
    for payment_id in ledger.payments:
        payment = service.get_payment(UUID(payment_id))
        outcomes.add(f"{payment.status}:{payment.failure_reason}")
        assert done[payment_id] == recorded[payment_id], payment_id
        steps = (done[payment_id][debit], done[payment_id][credit], done[payment_id][refund])
        if payment.status == "completed":
            assert (steps, payment.failure_reason) == ((1, 1, 0), None), payment_id
        else:
            assert payment.status == "failed" and payment.failure_reason, payment_id
            assert steps in ((0, 0, 0), (1, 0, 1)), (payment_id, steps)
    service.close()
    # The run exercised every path: completions, overdrafts, refused credits with refunds.
    assert {"completed:None", "failed:insufficient-funds", "failed:account-frozen"} <= outcomes
    refunded = [p for p in ledger.payments if done[p][refund]]
    assert refunded, "no credit was refused and refunded"


def check_stored_events_keep_their_golden_schemas(stack: Stack) -> None:
    """Every event the run stored (and so published: the same bytes) fits its golden schema."""
    wrong = []
    with stack.admin() as conn:
        for context in (ACCOUNTS, PAYMENTS):
            rows = conn.execute(
                f"SELECT notification_id, topic, state FROM {context.schema}.{context.events_table}"
            ).fetchall()
            assert rows, context.name
            for position, topic, state in rows:
                wrong += [f"{context.name}:{position} {v}" for v in schema_violations(topic, state)]
    assert not wrong, "\n".join(wrong[:20])


def check_closed_account_took_no_payment_after(stack: Stack, ledger: Ledger) -> None:
    """The account closed mid-run ends closed and empty."""
    assert ledger.closed is not None
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    try:
        account = service.get_account(UUID(ledger.closed))
    finally:
        service.close()
    assert (account.status, account.balance) == ("closed", 0)


@pytest.fixture(scope="module")
def workload_gateway(stack: Stack) -> Iterator[StackGateway]:
    """Envoy in front of the running system, as `paystream up` configures it but for
    limits that let one customer's 200 payments through (limits are configuration)."""
    roomy = TokenBucket(10_000, 10_000)
    limits = RateLimits(per_subject=roomy, payment_creation_per_subject=roomy)
    with stack.gateway(rate_limits=limits) as gateway:
        yield gateway


def test_concurrent_payments_all_end_and_conserve_money(
    stack: Stack, workload_gateway: StackGateway
) -> None:
    """The 200-payment run, every request through the gateway: tokens checked by Envoy
    and by each service, the payment steps by the saga's own identity."""
    public = workload_gateway.url
    ledger = Ledger()
    token = open_funded_accounts(public, 20, ledger, stack.auth())

    send_payments(public, ledger, 100, token, 1, stack.auth())
    disturb_accounts(public, ledger, stack.auth(), stack.auth("olga", "operator"))
    send_payments(public, ledger, 100, token, 2, stack.auth())
    wait_until(lambda: all_finished(stack, ledger), 120, "every payment to finish")

    check_money_is_conserved(stack, ledger)
    check_each_step_ran_once(stack, ledger)
    check_closed_account_took_no_payment_after(stack, ledger)
    check_read_models_agree(stack, ledger)
    check_stored_events_keep_their_golden_schemas(stack)


def test_payments_survive_saga_kills_and_an_accounts_outage(stack: Stack) -> None:
    ledger = Ledger()
    token = open_funded_accounts(stack.url_of("accounts-api"), 20, ledger, stack.auth())
    chaos = Chaos(stack)
    chaos.start()
    assert chaos.accounts_down.wait(30)

    send_payments(
        stack.url("payments-api"), ledger, 100, token, 3, stack.auth()
    )  # during the outage
    assert chaos.accounts_back.wait(60)
    disturb_accounts(
        stack.url_of("accounts-api"), ledger, stack.auth(), stack.auth("olga", "operator")
    )
    send_payments(
        stack.url("payments-api"), ledger, 100, token, 4, stack.auth()
    )  # during the saga kills
    chaos.finish(180)
    wait_until(lambda: all_finished(stack, ledger), 180, "every payment to finish")

    assert ledger.unavailable > 0, "the outage reached the payments API (it answered 503)"
    assert chaos.saga_found_accounts_down > 0, "the outage reached the saga's steps"
    assert len(chaos.in_flight_at_kills) == SAGA_KILLS and min(chaos.in_flight_at_kills) > 0
    assert chaos.saga_steps() > 0, "the last restarted saga carried steps out"
    check_money_is_conserved(stack, ledger)
    check_each_step_ran_once(stack, ledger)
    check_closed_account_took_no_payment_after(stack, ledger)
    check_read_models_agree(stack, ledger)


@pytest.mark.parametrize("run", ["first", "second"])
def test_the_readme_payment_session_works_as_written_and_again(
    run: str, stack: Stack, public_gateway: StackGateway
) -> None:
    """As written (through the gateway), and a second time on the same system (its keys
    are the run's own)."""
    result = run_readme_block("PAY=", {}, stack, {"8000": public_gateway.url})

    assert result.returncode == 0, result.stderr
    assert '"status":"completed"' in result.stdout
    assert '"failure_reason":"account-frozen","refunded":true' in result.stdout
    assert '"kind":"payment_refund"' in result.stdout
    assert '"kind":"payment_failed"' in result.stdout
    assert '"payments_in_flight":[]' in result.stdout and '"unavailable":[]' in result.stdout
    assert "/problems/same-account" in result.stdout


def test_a_payment_saga_carries_its_correlation_and_causation(stack: Stack) -> None:
    """Every event a payment causes shares its correlation id; each names its cause."""
    ledger = Ledger()
    token = open_funded_accounts(stack.url_of("accounts-api"), 2, ledger, stack.auth())
    ledger.accounts.reverse()  # pay from the funded second account too
    send_payments(stack.url("payments-api"), ledger, 1, token, 9, stack.auth())
    wait_until(lambda: all_finished(stack, ledger), 60, "the payment to finish")

    events = causal_events(stack, ledger.payments[0])

    assert len({e["correlation_id"] for e in events}) == 1
    ids = {e["id"] for e in events}
    caused = [e for e in events if e["id"] != events[0]["id"]]
    assert caused and all(e["causation_id"] in ids for e in caused)
    assert {e["actor"] for e in caused} == {"saga"}


def test_a_payments_location_is_where_the_payment_is_read(stack: Stack) -> None:
    """The 202's Location is the payment on the payments query API (the payments API
    serves no reads): followed with the answer's token, it reads the payment accepted."""
    ledger = Ledger()
    token = open_funded_accounts(stack.url_of("accounts-api"), 2, ledger, stack.auth())
    source, destination = ledger.accounts
    body = {"source": source, "destination": destination, "amount": 5, "currency": "EUR"}

    accepted = httpx.post(
        f"{stack.url('payments-api')}/payments",
        json=body,
        headers={TOKEN_HEADER: token, **stack.auth()},
        timeout=30,
    )
    assert accepted.status_code == 202, accepted.text
    answer = accepted.json()
    read = httpx.get(
        accepted.headers["Location"],
        headers={TOKEN_HEADER: answer["consistency_token"], **stack.auth()},
        timeout=30,
    )

    assert accepted.headers["Location"].startswith(stack.url("payments-query-api") + "/")
    assert read.status_code == 200, read.text
    assert read.json()["payment_id"] == answer["payment_id"]
    assert (read.json()["source"], read.json()["amount"]) == (source, 5)
