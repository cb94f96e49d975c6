"""The payments command API: request a payment; the saga carries it out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict

from api.answer_models import answer_model
from api.authentication import caller, role_required
from api.body_fields import AccountId, Amount, Currency, Reference
from api.command_app import create_command_app, get_service
from api.commands import answer, run_idempotently
from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.openapi_errors import problem_responses
from api.openapi_headers import answer_headers, command_headers, constrain_header, token_schema
from api.problem_types import (
    ACCOUNTS_UNAVAILABLE,
    COMMAND_PROBLEMS,
    FORBIDDEN,
    INVALID_AMOUNT,
    INVALID_CONSISTENCY_TOKEN,
    INVALID_PAYMENT_REQUEST,
    PAYMENT_CURRENCY_MISMATCH,
    SAME_ACCOUNT,
    UNKNOWN_DESTINATION_ACCOUNT,
    UNKNOWN_SOURCE_ACCOUNT,
    UNSUPPORTED_CURRENCY,
)
from api.problems import Problem
from api.public_urls import PublicUrls
from api.request_logging import correlation_header
from api.upstreams import UpstreamSettings
from domains.payments.aggregates import PaymentTerms
from domains.payments.application import PaymentResult, PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS
from identity.roles import CUSTOMER
from identity.verifier import TokenVerifier

LOOKUP_TIMEOUT_SECONDS = 6.0
router = APIRouter(prefix="/payments", tags=["payments"])
PAYMENT_PROBLEMS = (
    *COMMAND_PROBLEMS,
    INVALID_CONSISTENCY_TOKEN,
    INVALID_PAYMENT_REQUEST,
    SAME_ACCOUNT,
    INVALID_AMOUNT,
    UNSUPPORTED_CURRENCY,
    UNKNOWN_SOURCE_ACCOUNT,
    UNKNOWN_DESTINATION_ACCOUNT,
    PAYMENT_CURRENCY_MISMATCH,
    ACCOUNTS_UNAVAILABLE,
    FORBIDDEN,
)


class RequestPayment(BaseModel):
    """Move `amount` minor units of `currency` from `source` to `destination`."""

    model_config = ConfigDict(extra="forbid")
    source: AccountId
    destination: AccountId
    amount: Amount
    currency: Currency
    reference: Reference = ""


# Accepted, a payment has no failure reason yet: the answer leaves it out.
PaymentAnswer = answer_model(
    "PaymentAnswer",
    PaymentResult,
    "The payment as accepted; follow it on the payments query API.",
    leave_out={"failure_reason"},
)


Service = Annotated[PaymentsService, Depends(get_service)]


def accounts_lookup(request: Request) -> httpx.Client:
    """The app's client of the account summary query API."""
    client: httpx.Client = request.app.state.accounts_lookup
    return client


def accounts_token(raw: str | None) -> ConsistencyToken | None:
    """The request's consistency token when it is an accounts one (to pass on to the lookup).

    A malformed token is the client's error (400), never an accounts outage (503); a
    well-formed token of another context says nothing about accounts and is ignored.
    """
    if raw is None:
        return None
    token = ConsistencyToken.parse(raw)
    return token if token.context == ACCOUNTS.name else None


def check_account(
    client: httpx.Client,
    role: str,
    account_id: str,
    currency: str,
    token: ConsistencyToken | None,
    holder: str | None = None,
) -> None:
    """The account (an id the payment's terms checked) must exist, as far as the account
    summary knows, in `currency`, and be held by `holder` when one is named (to anyone
    else it does not exist)."""
    headers = correlation_header() | ({TOKEN_HEADER: str(token)} if token else {})
    try:
        response = client.get(f"/accounts/{account_id}", headers=headers)
    except httpx.HTTPError as error:
        raise Problem(
            503,
            "accounts-unavailable",
            f"cannot check the {role} account: {error}",
            headers={"Retry-After": "2"},
        ) from None
    unknown = Problem(422, f"unknown-{role}-account", f"{role} account {account_id} does not exist")
    if response.status_code == 404:
        raise unknown
    if response.status_code != 200:
        raise Problem(
            503,
            "accounts-unavailable",
            f"cannot check the {role} account (HTTP {response.status_code})",
            headers={"Retry-After": "2"},
        )
    if holder is not None and response.json()["holder"] != holder:
        raise unknown
    held = response.json()["currency"]
    if held != currency:
        raise Problem(
            422, "currency-mismatch", f"{role} account holds {held}, the payment is in {currency}"
        )


@router.post(
    "",
    status_code=202,
    response_model=PaymentAnswer,
    # Customers pay, from accounts they hold (checked against the account summary).
    dependencies=[Depends(role_required(CUSTOMER))],
    openapi_extra=command_headers(),
    responses=problem_responses(*PAYMENT_PROBLEMS)
    | answer_headers(
        202,
        location="Where the payment is read: its URL on the payments query API (send it the"
        " X-Consistency-Token to read it as accepted).",
    ),
)
def request_payment(
    request: Request,
    service: Service,
    body: RequestPayment,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> ORJSONResponse:
    """Request a payment: answered at once (202); the saga debits, credits, completes."""
    payer = caller(request)
    accounts_position = accounts_token(token)
    lookup = accounts_lookup(request)

    def execute() -> PaymentResult:
        terms = PaymentTerms.of(
            body.source, body.destination, body.amount, body.currency, body.reference
        )
        for role, account_id in (("source", terms.source), ("destination", terms.destination)):
            holder = payer.subject if role == "source" else None
            check_account(lookup, role, account_id, terms.currency, accounts_position, holder)
        return service.start_payment(terms)

    result, replayed = run_idempotently(request, "pay", "-", body.model_dump(), service, execute)
    location = f"{PublicUrls().payments_query_url}/payments/{result.payment_id}"
    return answer(PaymentAnswer, PAYMENTS, result, 202, replayed, location)


def create_app(
    service_factory: Callable[[], PaymentsService],
    verifier: TokenVerifier,
    lookup_auth: httpx.Auth,
) -> FastAPI:
    """The payments command API around one PaymentsService, for callers `verifier` accepts;
    it looks accounts up on the account summary query API with `lookup_auth`, its own
    service token (a payment may name anyone's account as its destination)."""
    app = create_command_app("Paystream payments commands", service_factory, [router], verifier)
    app.state.accounts_lookup = httpx.Client(
        base_url=UpstreamSettings().account_summary_query_url,
        timeout=LOOKUP_TIMEOUT_SECONDS,
        auth=lookup_auth,
    )
    constrain_header(app, TOKEN_HEADER, token_schema())
    return app
