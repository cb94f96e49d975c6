"""The accounts command API: one endpoint per command, answers with version and token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict

from api.account_reads import account_caller
from api.answer_models import answer_model
from api.authentication import caller
from api.body_fields import Amount, Currency, Owner
from api.command_app import get_service
from api.commands import answer, run_idempotently
from api.openapi_errors import problem_responses
from api.openapi_headers import answer_headers, command_headers
from api.problem_types import (
    ACCOUNT_CLOSED,
    ACCOUNT_FROZEN,
    ACCOUNT_NOT_FOUND,
    ACCOUNT_NOT_FROZEN,
    BALANCE_LIMIT_EXCEEDED,
    BALANCE_NOT_ZERO,
    COMMAND_PROBLEMS,
    FORBIDDEN,
    INSUFFICIENT_FUNDS,
    INVALID_AMOUNT,
    INVALID_OWNER,
    UNSUPPORTED_CURRENCY,
)
from api.public_urls import PublicUrls
from domains.accounts.application import AccountResult, AccountsService
from eventstore.contexts import ACCOUNTS


class OpenAccount(BaseModel):
    """Open an account for `owner` in an ISO 4217 `currency`."""

    model_config = ConfigDict(extra="forbid")
    owner: Owner
    currency: Currency


class MoveMoney(BaseModel):
    """Deposit or withdraw `amount` minor units (a positive whole number)."""

    model_config = ConfigDict(extra="forbid")
    amount: Amount


class NoBody(BaseModel):
    """Commands without parameters accept an empty object or no body."""

    model_config = ConfigDict(extra="forbid")


AccountAnswer = answer_model(
    "AccountAnswer",
    AccountResult,
    "The account after the command, with the token to read it back consistently.",
)


Service = Annotated[AccountsService, Depends(get_service)]
router = APIRouter(prefix="/accounts", tags=["accounts"])
COMMAND_HEADERS = command_headers()
ANSWER = answer_headers(200)
ON_ACCOUNT = (*COMMAND_PROBLEMS, ACCOUNT_NOT_FOUND, ACCOUNT_CLOSED, FORBIDDEN)
MOVING_MONEY = (*ON_ACCOUNT, INVALID_AMOUNT, ACCOUNT_FROZEN)


def command(
    request: Request,
    service: AccountsService,
    name: str,
    target: str,
    body: dict[str, Any],
    execute: Callable[[], AccountResult],
    status: int = 200,
) -> ORJSONResponse:
    """Run one command idempotently and answer with the account after it."""
    result, replayed = run_idempotently(request, name, target, body, service, execute)
    location = None
    if status == 201:
        location = f"{PublicUrls().account_summary_query_url}/accounts/{result.account_id}"
    return answer(AccountAnswer, ACCOUNTS, result, status, replayed, location)


@router.post(
    "",
    status_code=201,
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*COMMAND_PROBLEMS, INVALID_OWNER, UNSUPPORTED_CURRENCY, FORBIDDEN)
    | answer_headers(
        201,
        location="Where the account is read: its URL on the account summary query API (send"
        " it the answer's consistency token). Set by PAYSTREAM_PUBLIC_ACCOUNT_SUMMARY_QUERY_URL.",
    ),
)
def open_account(request: Request, service: Service, body: OpenAccount) -> ORJSONResponse:
    """Open an account."""
    who = account_caller(caller(request))
    execute = lambda: service.open_account(body.owner, body.currency, who)  # noqa: E731
    return command(request, service, "open", "-", body.model_dump(), execute, status=201)


@router.post(
    "/{account_id}/deposits",
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*MOVING_MONEY, BALANCE_LIMIT_EXCEEDED) | ANSWER,
)
def deposit(
    request: Request, service: Service, account_id: UUID, body: MoveMoney
) -> ORJSONResponse:
    """Deposit money."""
    who = account_caller(caller(request))
    execute = lambda: service.deposit(account_id, body.amount, who)  # noqa: E731
    return command(request, service, "deposit", str(account_id), body.model_dump(), execute)


@router.post(
    "/{account_id}/withdrawals",
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*MOVING_MONEY, INSUFFICIENT_FUNDS) | ANSWER,
)
def withdraw(
    request: Request, service: Service, account_id: UUID, body: MoveMoney
) -> ORJSONResponse:
    """Withdraw money."""
    who = account_caller(caller(request))
    execute = lambda: service.withdraw(account_id, body.amount, who)  # noqa: E731
    return command(request, service, "withdraw", str(account_id), body.model_dump(), execute)


@router.post(
    "/{account_id}/freeze",
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*ON_ACCOUNT, ACCOUNT_FROZEN) | ANSWER,
)
def freeze(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Freeze the account: no money moves until it is unfrozen."""
    who = account_caller(caller(request))
    execute = lambda: service.freeze_account(account_id, who)  # noqa: E731
    return command(request, service, "freeze", str(account_id), {}, execute)


@router.post(
    "/{account_id}/unfreeze",
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*ON_ACCOUNT, ACCOUNT_NOT_FROZEN) | ANSWER,
)
def unfreeze(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Unfreeze the account."""
    who = account_caller(caller(request))
    execute = lambda: service.unfreeze_account(account_id, who)  # noqa: E731
    return command(request, service, "unfreeze", str(account_id), {}, execute)


@router.post(
    "/{account_id}/close",
    response_model=AccountAnswer,
    openapi_extra=COMMAND_HEADERS,
    responses=problem_responses(*ON_ACCOUNT, BALANCE_NOT_ZERO) | ANSWER,
)
def close(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Close the account (its balance must be zero)."""
    who = account_caller(caller(request))
    execute = lambda: service.close_account(account_id, who)  # noqa: E731
    return command(request, service, "close", str(account_id), {}, execute)
