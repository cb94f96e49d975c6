"""The saga's contract with the accounts API (tests/contracts/saga_accounts.py), checked
from both sides, in process: the saga's own client against the real accounts app on the
in-memory store, and every interaction against the accounts API's OpenAPI document."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid4

import anyio
import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from domains.accounts.aggregates import MAX_AMOUNT, MAX_BALANCE, Account
from domains.accounts.application import AccountsService
from domains.payments.aggregates import Payment
from domains.payments.saga import Action, Step
from saga.accounts_client import AccountsClient, Cause, Outcome
from tests.contracts.saga_accounts import CLIENT_MISTAKES, CONTRACT, Given, Interaction
from tests.support.issuer import Bearer

STEP_PATHS = {Action.DEBIT_SOURCE: "debits", Action.CREDIT_DESTINATION: "credits"}
STEP_PATHS[Action.REFUND_SOURCE] = "refunds"
RETRYABLE = {
    "concurrent-modification",
    "store-unavailable",
    "internal-error",
    # The saga's own token refused: the step waits for it to be fixed (saga/accounts_client.py).
    "authentication-required",
    "invalid-token",
    "issuer-unavailable",
    "forbidden",
}
CAUSE = Cause(correlation_id="contract-test", causation_id="payments:1")


class Recording(httpx.ASGITransport):
    """The app in process; keeps the last request and response for the checks."""

    request: httpx.Request
    response: httpx.Response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.request = request
        self.response = await super().handle_async_request(request)
        await self.response.aread()
        return self.response


def account_in(service: AccountsService, given: Given) -> str:
    """An account in state `given`, saved straight through the service (provider state)."""
    if given is Given.UNKNOWN:
        return str(uuid4())
    account = Account.open("Contract", "EUR")
    if given is Given.FULL:
        for _ in range(MAX_BALANCE // MAX_AMOUNT):
            account.deposit(MAX_AMOUNT)
    elif given is not Given.EMPTY:
        account.deposit(10_000)
    if given is Given.FROZEN:
        account.freeze()
    if given is Given.CLOSED:
        account.withdraw(10_000)
        account.close()
    service.save(account)
    return str(account.id)


@pytest.fixture(scope="module")
def saga_auth(saga_headers: dict[str, str]) -> Bearer:
    return Bearer(saga_headers["Authorization"].removeprefix("Bearer "))


def perform(
    app: Any, auth: httpx.Auth, action: Action, account: str, payment: Payment
) -> tuple[Outcome, Recording]:
    """The saga's client (with the saga's token, `auth`) carries out one step against the app."""
    transport = Recording(app=app)
    other = payment.destination if action is not Action.CREDIT_DESTINATION else payment.source
    step = Step(action, account, other, f"{payment.id}:{action.value}")

    async def call() -> Outcome:
        client = AccountsClient("http://accounts", auth, transport=transport)
        try:
            return await client.perform(step, payment, CAUSE)
        finally:
            await client.close()

    return anyio.run(call), transport


def payment_for(interaction: Interaction, account: str) -> Payment:
    other = str(uuid4())
    source, destination = (
        (other, account) if interaction.action is Action.CREDIT_DESTINATION else (account, other)
    )
    return Payment.request(source, destination, interaction.amount, interaction.currency, "c")


@pytest.mark.parametrize("interaction", CONTRACT, ids=[i.name for i in CONTRACT])
def test_the_saga_gets_what_it_relies_on_from_the_accounts_app(
    accounts: TestClient,
    saga_auth: Bearer,
    operator_headers: dict[str, str],
    interaction: Interaction,
) -> None:
    service: AccountsService = accounts.app.state.service  # type: ignore[attr-defined]
    given = interaction.given
    account = account_in(service, Given.FUNDED if given.name.startswith("DEBITED") else given)
    payment = payment_for(interaction, account)
    first: Outcome | None = None
    if given in (Given.DEBITED, Given.DEBITED_THEN_FROZEN):
        first, _ = perform(accounts.app, saga_auth, Action.DEBIT_SOURCE, account, payment)
        assert first.done
    if given is Given.DEBITED_THEN_FROZEN:
        frozen = accounts.post(f"/accounts/{account}/freeze", headers=operator_headers)
        assert frozen.status_code == 200, frozen.text

    outcome, transport = perform(accounts.app, saga_auth, interaction.action, account, payment)

    assert transport.response.status_code == interaction.status, transport.response.text
    assert (outcome.done, outcome.reason) == (interaction.done, interaction.reason)
    if interaction.done:
        assert outcome.event and re.fullmatch(r"accounts:\d+", outcome.event), outcome
    else:
        problem = orjson.loads(transport.response.content)
        assert problem["type"] == f"/problems/{interaction.reason}"
    if interaction.action is Action.DEBIT_SOURCE and first is not None:
        assert outcome == first, "the same step again answers as the first time"


def documented_problems(operation: dict[str, Any]) -> dict[str, int]:
    """Each problem code an operation documents, with its status."""
    codes: dict[str, int] = {}
    for status, response in operation["responses"].items():
        for code in re.findall(r"`/problems/([a-z-]+)`", response.get("description", "")):
            codes[code] = int(status)
    return codes


@pytest.fixture(scope="module")
def openapi(accounts: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = accounts.get("/openapi.json").json()
    return document


def step_operation(openapi: dict[str, Any], action: Action) -> dict[str, Any]:
    operation: dict[str, Any] = openapi["paths"][f"/accounts/{{account_id}}/{STEP_PATHS[action]}"][
        "post"
    ]
    return operation


@pytest.mark.parametrize("interaction", CONTRACT, ids=[i.name for i in CONTRACT])
def test_the_accounts_openapi_documents_each_interaction(
    openapi: dict[str, Any], interaction: Interaction
) -> None:
    operation = step_operation(openapi, interaction.action)
    response = operation["responses"][str(interaction.status)]
    if interaction.done:
        assert "X-Consistency-Token" in response["headers"]
    else:
        assert documented_problems(operation)[interaction.reason] == interaction.status


@pytest.mark.parametrize("action", list(STEP_PATHS), ids=[a.value for a in STEP_PATHS])
def test_the_saga_has_decided_about_every_refusal_the_accounts_api_documents(
    openapi: dict[str, Any], action: Action
) -> None:
    """A refusal the accounts API adds fails here until the contract (and the saga) say
    what it means: a reason the payment records, a retry, or a mistake of the saga's."""
    reasons = {i.reason for i in CONTRACT if i.action is action and i.reason}
    undecided = set(documented_problems(step_operation(openapi, action))) - reasons
    assert undecided <= RETRYABLE | CLIENT_MISTAKES, sorted(undecided - RETRYABLE - CLIENT_MISTAKES)


def test_the_saga_request_fits_the_documented_request_body(
    accounts: TestClient, saga_auth: Bearer, openapi: dict[str, Any]
) -> None:
    service: AccountsService = accounts.app.state.service  # type: ignore[attr-defined]
    account = account_in(service, Given.FUNDED)
    interaction = CONTRACT[0]
    _, transport = perform(
        accounts.app, saga_auth, interaction.action, account, payment_for(interaction, account)
    )

    body = orjson.loads(transport.request.content)
    schema_ref = step_operation(openapi, interaction.action)["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    schema = openapi["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(body) <= set(schema["properties"]) and set(schema.get("required", [])) <= set(body)
    assert transport.request.headers["Idempotency-Key"].endswith(":debit")
    assert UUID(str(body["payment_id"]))
