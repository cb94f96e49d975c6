"""Every refused payment request answers a 4xx problem+json that says why, and stores nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.commands import IDEMPOTENCY_HEADER, REPLAY_HEADER
from api.consistency import HEADER as TOKEN_HEADER
from domains.money import MAX_AMOUNT
from domains.text import MAX_REFERENCE_LENGTH
from eventstore import idempotency
from eventstore.contexts import PAYMENTS
from tests.support.accounts_client import assert_problem
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Workers first, so the query API never waits on a projector that is not running.
SERVICE_NAMES = (
    "relay-accounts",
    "projector-account-summary",
    "accounts-api",
    "account-summary-query-api",
    "payments-api",
)
TIMEOUT_SECONDS = 30.0
NO_BODY = object()

# Placeholders in the cases' bodies, replaced by real account ids when a case runs.
EUR = "<eur-account>"
EUR_2 = "<second-eur-account>"
EUR_UPPER = "<eur-account-in-capitals>"
USD = "<usd-account>"
UNKNOWN = "<random-uuid>"

GOOD: dict[str, Any] = {"source": EUR, "destination": EUR_2, "amount": 100, "currency": "EUR"}
INVALID = "422 validation-error"
INVALID_REQUEST = "422 invalid-payment-request"


@dataclass(frozen=True)
class Accounts:
    """The accounts payments are requested between, and a token that has seen them all."""

    eur: str
    eur_2: str
    usd: str
    token: str

    def resolve(self, value: Any) -> Any:
        placeholders = {
            EUR: self.eur,
            EUR_2: self.eur_2,
            EUR_UPPER: self.eur.upper(),
            USD: self.usd,
        }
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if value == UNKNOWN:
            return str(uuid4())
        if isinstance(value, str):
            return placeholders.get(value, value)
        return value


@dataclass(frozen=True)
class Refused:
    """A payment request, and the problem it must be answered with."""

    body: Any
    status: int
    code: str
    detail: str  # words the detail must contain, so it says what is wrong
    headers: dict[bytes, bytes] = field(default_factory=dict)


def refused(
    case_id: str, body: Any, expect: str, detail: str, headers: dict[bytes, bytes] | None = None
) -> Any:
    """One case; `expect` is "<status> <problem code>"."""
    status, code = expect.split()
    return pytest.param(Refused(body, int(status), code, detail, headers or {}), id=case_id)


def good(**changes: Any) -> dict[str, Any]:
    """The good request, with some fields changed."""
    return {**GOOD, **changes}


def without(name: str) -> dict[str, Any]:
    """The good request without one field."""
    return {key: value for key, value in GOOD.items() if key != name}


def amount(case_id: str, value: Any, expect: str, detail: str) -> Any:
    return refused(f"amount-{case_id}", good(amount=value), expect, detail)


def currency(case_id: str, value: Any, expect: str, detail: str) -> Any:
    return refused(f"currency-{case_id}", good(currency=value), expect, detail)


def key(case_id: str, value: bytes) -> Any:
    headers = {IDEMPOTENCY_HEADER.encode(): value}
    return refused(
        f"idempotency-key-{case_id}",
        GOOD,
        "400 invalid-idempotency-key",
        IDEMPOTENCY_HEADER,
        headers,
    )


def consistency_token(case_id: str, value: bytes) -> Any:
    headers = {TOKEN_HEADER.encode(): value}
    return refused(
        f"consistency-token-{case_id}", GOOD, "400 invalid-consistency-token", TOKEN_HEADER, headers
    )


CASES = [
    # The accounts: they must exist, differ, and hold the payment's currency.
    refused(
        "unknown-source",
        good(source=UNKNOWN),
        "422 unknown-source-account",
        "source account",
    ),
    refused(
        "unknown-destination",
        good(destination=UNKNOWN),
        "422 unknown-destination-account",
        "destination account",
    ),
    refused(
        "unknown-source-and-destination",
        good(source=UNKNOWN, destination=UNKNOWN),
        "422 unknown-source-account",
        "does not exist",
    ),
    refused("same-account", good(destination=EUR), "422 same-account", "different accounts"),
    refused(
        "same-account-spelt-in-capitals",
        good(destination=EUR_UPPER),
        "422 same-account",
        "different accounts",
    ),
    refused(
        "source-not-a-uuid", good(source="acc-1"), INVALID_REQUEST, "source must be an account id"
    ),
    refused("source-empty", good(source=""), INVALID_REQUEST, "source must be an account id"),
    refused(
        "destination-not-a-uuid",
        good(destination="1234"),
        INVALID_REQUEST,
        "destination must be an account id",
    ),
    refused("source-number", good(source=42), INVALID, "source"),
    refused("destination-null", good(destination=None), INVALID, "destination"),
    refused(
        "currency-mismatch-usd-source",
        good(source=USD),
        "422 currency-mismatch",
        "source account holds USD, the payment is in EUR",
    ),
    refused(
        "currency-mismatch-usd-destination",
        good(destination=USD),
        "422 currency-mismatch",
        "destination account holds USD, the payment is in EUR",
    ),
    refused(
        "currency-mismatch-usd-payment-between-eur-accounts",
        good(currency="USD"),
        "422 currency-mismatch",
        "source account holds EUR, the payment is in USD",
    ),
    # The amount: a positive whole number of minor units, within bounds.
    amount("zero", 0, "422 invalid-amount", "greater than zero"),
    amount("negative", -5, "422 invalid-amount", "greater than zero"),
    amount("fraction", 1.5, INVALID, "amount"),
    amount("float", 10.0, INVALID, "amount"),
    amount("string", "100", INVALID, "amount"),
    amount("bool", True, INVALID, "amount"),
    amount("null", None, INVALID, "amount"),
    amount("max-plus-one", MAX_AMOUNT + 1, "422 invalid-amount", "must not exceed"),
    amount("1e30", 10**30, "422 invalid-amount", "must not exceed"),
    # The currency: an ISO 4217 code in capitals.
    currency("lowercase", "eur", "422 unsupported-currency", "eur"),
    currency("XXX", "XXX", "422 unsupported-currency", "XXX"),
    currency("EURO", "EURO", "422 unsupported-currency", "EURO"),
    currency("empty", "", "422 unsupported-currency", "ISO 4217"),
    currency("number", 978, INVALID, "currency"),
    currency("null", None, INVALID, "currency"),
    # The shape of the body.
    *[
        refused(f"missing-{name}", without(name), INVALID, f"{name}: field required")
        for name in ("source", "destination", "amount", "currency")
    ],
    refused("empty-object", {}, INVALID, "source: field required"),
    refused("unknown-field", good(memo="rent"), INVALID, "memo: unknown field"),
    refused("unknown-field-status", good(status="completed"), INVALID, "status: unknown field"),
    refused("unknown-field-payment-id", good(payment_id=UNKNOWN), INVALID, "payment_id: unknown"),
    refused("bad-json", b'{"source": "', "400 malformed-json", "not valid JSON"),
    refused("not-json", b"source=a&destination=b", "400 malformed-json", "not valid JSON"),
    refused("no-body", NO_BODY, INVALID, "body: field required"),
    refused("not-an-object", [GOOD], INVALID, "body: input should be a valid dictionary"),
    # The reference: optional text of at most 140 characters.
    refused(
        "reference-too-long",
        good(reference="x" * (MAX_REFERENCE_LENGTH + 1)),
        INVALID_REQUEST,
        f"at most {MAX_REFERENCE_LENGTH} characters",
    ),
    refused("reference-number", good(reference=7), INVALID, "reference"),
    refused("reference-null", good(reference=None), INVALID, "reference"),
    # The headers.
    key("with-spaces", b"my key"),
    key("too-long", b"k" * 201),
    key("empty", b""),
    key("tab", b"a\tb"),
    key("non-ascii", "clé".encode()),
    consistency_token("garbage", b"garbage"),
    consistency_token("accounts-not-a-number", b"accounts:abc"),
    consistency_token("accounts-negative", b"accounts:-1"),
]


@pytest.fixture(scope="module")
def running(stack: Stack) -> dict[str, str]:
    """The accounts services and the payments API (no saga: nothing here gets that far)."""
    return {name: stack.start(name).url for name in SERVICE_NAMES}


@pytest.fixture(scope="module")
def payments(running: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running["payments-api"], timeout=TIMEOUT_SECONDS) as client:
        yield client


@pytest.fixture(scope="module")
def accounts(running: dict[str, str]) -> Accounts:
    """Two EUR accounts and a USD one, read back so the payments API sees them."""
    ids, token = [], ""
    with (
        httpx.Client(base_url=running["accounts-api"], timeout=TIMEOUT_SECONDS) as commands,
        httpx.Client(
            base_url=running["account-summary-query-api"], timeout=TIMEOUT_SECONDS
        ) as queries,
    ):
        for owner, held in (("Ada", "EUR"), ("Grace", "EUR"), ("Linus", "USD")):
            opened = commands.post("/accounts", json={"owner": owner, "currency": held})
            assert opened.status_code == 201, opened.text
            account_id, token = opened.json()["account_id"], opened.headers[TOKEN_HEADER]
            summary = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: token})
            assert summary.status_code == 200, summary.text
            assert summary.json()["currency"] == held
            ids.append(account_id)
    return Accounts(eur=ids[0], eur_2=ids[1], usd=ids[2], token=token)


def stored(stack: Stack) -> tuple[int, int]:
    """What the payments context holds: events and idempotency keys."""
    with stack.admin() as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {PAYMENTS.schema}.{idempotency.TABLE}").fetchone()
    return stack.event_count(PAYMENTS), int(row[0]) if row else 0


def pay(
    client: httpx.Client, accounts: Accounts, body: Any, headers: dict[bytes, bytes] | None = None
) -> httpx.Response:
    """POST /payments with the accounts' consistency token (unless `headers` replace it)."""
    sent = {TOKEN_HEADER.encode(): accounts.token.encode(), **(headers or {})}
    if body is NO_BODY:
        return client.post("/payments", headers=sent)
    if isinstance(body, bytes):
        return client.post(
            "/payments", content=body, headers={b"Content-Type": b"application/json", **sent}
        )
    return client.post("/payments", json=accounts.resolve(body), headers=sent)


def keyed(value: str) -> dict[bytes, bytes]:
    return {IDEMPOTENCY_HEADER.encode(): value.encode()}


@pytest.mark.parametrize("case", CASES)
def test_a_refused_payment_answers_a_problem_and_stores_nothing(
    stack: Stack, payments: httpx.Client, accounts: Accounts, case: Refused
) -> None:
    before = stored(stack)

    response = pay(payments, accounts, case.body, case.headers)

    problem = assert_problem(response, case.status, case.code)
    assert case.detail.lower() in problem["detail"].lower(), problem
    assert problem["instance"] == "/payments"
    assert stored(stack) == before


CHANGES = [
    pytest.param({"amount": 101}, id="other-amount"),
    pytest.param({"reference": "another reference"}, id="other-reference"),
    pytest.param({"source": EUR_2, "destination": EUR}, id="source-and-destination-swapped"),
    pytest.param({"source": USD, "destination": EUR}, id="other-source-now-refused"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_an_idempotency_key_reused_for_another_request_is_refused(
    stack: Stack, payments: httpx.Client, accounts: Accounts, change: dict[str, Any]
) -> None:
    key = f"reused-{uuid4()}"
    first = pay(payments, accounts, good(reference="first"), keyed(key))
    assert first.status_code == 202, first.text
    before = stored(stack)

    response = pay(payments, accounts, {**good(reference="first"), **change}, keyed(key))

    problem = assert_problem(response, 422, "idempotency-key-reused")
    assert key in problem["detail"] and "different request" in problem["detail"], problem
    assert stored(stack) == before


def test_a_good_payment_is_accepted_and_a_retry_replays_it(
    stack: Stack, payments: httpx.Client, accounts: Accounts
) -> None:
    key = f"good-{uuid4()}"
    body = good(amount=MAX_AMOUNT, reference="r" * MAX_REFERENCE_LENGTH)
    events_before, keys_before = stored(stack)

    first = pay(payments, accounts, body, keyed(key))
    after_first = stored(stack)
    retry = pay(payments, accounts, body, keyed(key))

    assert first.status_code == 202, first.text
    answer = first.json()
    payment_id = UUID(answer["payment_id"])
    assert answer["status"] == "requested"
    assert answer["version"] == 1
    assert (answer["source"], answer["destination"]) == (accounts.eur, accounts.eur_2)
    assert (answer["amount"], answer["currency"]) == (MAX_AMOUNT, "EUR")
    assert answer["reference"] == "r" * MAX_REFERENCE_LENGTH
    assert re.fullmatch(r"payments:[1-9][0-9]*", answer["consistency_token"]), answer
    assert answer["consistency_token"] == f"payments:{stack.max_position(PAYMENTS)}"
    assert first.headers[TOKEN_HEADER] == answer["consistency_token"]
    # Where the payment is read: the payments query API, not this one.
    location = f"{stack.url_of('payments-query-api')}/payments/{payment_id}"
    assert first.headers["Location"] == location
    assert REPLAY_HEADER not in first.headers
    assert after_first == (events_before + 1, keys_before + 1)

    assert retry.status_code == 202, retry.text
    assert retry.headers[REPLAY_HEADER] == "true"
    assert retry.json() == answer
    assert retry.headers[TOKEN_HEADER] == answer["consistency_token"]
    assert stored(stack) == after_first


def test_a_payment_between_accounts_spelt_in_capitals_is_stored_canonically(
    payments: httpx.Client, accounts: Accounts
) -> None:
    body = {**GOOD, "source": accounts.eur.upper(), "destination": accounts.eur_2.upper()}

    response = pay(payments, accounts, body)

    assert response.status_code == 202, response.text
    assert (response.json()["source"], response.json()["destination"]) == (
        accounts.eur,
        accounts.eur_2,
    )


def test_a_well_formed_token_of_another_context_is_accepted(
    payments: httpx.Client, accounts: Accounts
) -> None:
    """Only an accounts token is passed on to the account lookup; a payments one is fine."""
    response = pay(payments, accounts, GOOD, {TOKEN_HEADER.encode(): b"payments:1"})

    assert response.status_code == 202, response.text
