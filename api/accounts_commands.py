"""The accounts command API: one endpoint per command, answers with version and token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from api.commands import REPLAY_HEADER, run_idempotently
from api.consistency import HEADER as TOKEN_HEADER
from api.health import install_health
from api.problems import Problem, install_problem_handlers
from domains.accounts.application import AccountSnapshot, AccountsService
from domains.accounts.errors import AccountNotFound
from domains.errors import DomainError
from eventstore.contexts import ACCOUNTS
from eventstore.idempotency import IdempotentOutcome

_CONFLICT_CODES = {
    "insufficient-funds",
    "account-frozen",
    "account-not-frozen",
    "account-closed",
    "balance-not-zero",
    "balance-limit-exceeded",
    "currency-mismatch",
}


class OpenAccount(BaseModel):
    """Open an account for `owner` in an ISO 4217 `currency`."""

    model_config = ConfigDict(extra="forbid")
    owner: StrictStr
    currency: StrictStr


class MoveMoney(BaseModel):
    """Deposit or withdraw `amount` minor units (a positive whole number)."""

    model_config = ConfigDict(extra="forbid")
    amount: StrictInt


class NoBody(BaseModel):
    """Commands without parameters accept an empty object or no body."""

    model_config = ConfigDict(extra="forbid")


class AccountAnswer(BaseModel):
    """The account after the command, with the token to read it back consistently."""

    account_id: UUID
    owner: str
    currency: str
    balance: int
    status: str
    version: int
    consistency_token: str


def get_service(request: Request) -> AccountsService:
    service: AccountsService = request.app.state.service
    return service


Service = Annotated[AccountsService, Depends(get_service)]
router = APIRouter(prefix="/accounts", tags=["accounts"])


@contextmanager
def domain_errors() -> Iterator[None]:
    """Translate domain and storage errors into problems, once, at this boundary."""
    try:
        yield
    except AccountNotFound as error:
        raise Problem(404, error.code, str(error)) from None
    except DomainError as error:
        status = 409 if error.code in _CONFLICT_CODES else 422
        raise Problem(status, error.code, str(error)) from None
    except IntegrityError:
        raise Problem(
            409,
            "concurrent-modification",
            "the account kept changing; retry the command",
            headers={"Retry-After": "1"},
        ) from None
    except (OperationalError, PersistenceError) as error:
        raise Problem(
            503,
            "store-unavailable",
            f"the event store is unavailable: {error}",
            headers={"Retry-After": "2"},
        ) from None


def answer(snapshot: AccountSnapshot, status: int, replayed: bool) -> ORJSONResponse:
    token = f"{ACCOUNTS.name}:{snapshot.position}"
    body = AccountAnswer(
        account_id=snapshot.account_id,
        owner=snapshot.owner,
        currency=snapshot.currency,
        balance=snapshot.balance,
        status=snapshot.status,
        version=snapshot.version,
        consistency_token=token,
    )
    headers = {TOKEN_HEADER: token}
    if status == 201:
        headers["Location"] = f"/accounts/{snapshot.account_id}"
    if replayed:
        headers[REPLAY_HEADER] = "true"
    return ORJSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def command(
    request: Request,
    service: AccountsService,
    name: str,
    target: str,
    body: dict[str, Any],
    execute: Callable[[], AccountSnapshot],
    status: int = 200,
) -> ORJSONResponse:
    """Run one command idempotently and answer with the account after it."""

    def replay(outcome: IdempotentOutcome) -> AccountSnapshot:
        account = service.get_account(outcome.aggregate_id, version=outcome.aggregate_version)
        return AccountSnapshot.of(account, outcome.position)

    with domain_errors():
        snapshot, replayed = run_idempotently(
            request,
            name,
            target,
            body,
            service.recorder.find_outcome,  # type: ignore[attr-defined]
            execute,
            replay,
        )
    return answer(snapshot, status, replayed)


@router.post("", status_code=201, response_model=AccountAnswer)
def open_account(request: Request, service: Service, body: OpenAccount) -> ORJSONResponse:
    """Open an account."""
    execute = lambda: service.open_account(body.owner, body.currency)  # noqa: E731
    return command(request, service, "open", "-", body.model_dump(), execute, status=201)


@router.post("/{account_id}/deposits", response_model=AccountAnswer)
def deposit(
    request: Request, service: Service, account_id: UUID, body: MoveMoney
) -> ORJSONResponse:
    """Deposit money."""
    execute = lambda: service.deposit(account_id, body.amount)  # noqa: E731
    return command(request, service, "deposit", str(account_id), body.model_dump(), execute)


@router.post("/{account_id}/withdrawals", response_model=AccountAnswer)
def withdraw(
    request: Request, service: Service, account_id: UUID, body: MoveMoney
) -> ORJSONResponse:
    """Withdraw money."""
    execute = lambda: service.withdraw(account_id, body.amount)  # noqa: E731
    return command(request, service, "withdraw", str(account_id), body.model_dump(), execute)


@router.post("/{account_id}/freeze", response_model=AccountAnswer)
def freeze(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Freeze the account: no money moves until it is unfrozen."""
    execute = lambda: service.freeze_account(account_id)  # noqa: E731
    return command(request, service, "freeze", str(account_id), {}, execute)


@router.post("/{account_id}/unfreeze", response_model=AccountAnswer)
def unfreeze(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Unfreeze the account."""
    execute = lambda: service.unfreeze_account(account_id)  # noqa: E731
    return command(request, service, "unfreeze", str(account_id), {}, execute)


@router.post("/{account_id}/close", response_model=AccountAnswer)
def close(
    request: Request, service: Service, account_id: UUID, body: NoBody | None = None
) -> ORJSONResponse:
    """Close the account (its balance must be zero)."""
    execute = lambda: service.close_account(account_id)  # noqa: E731
    return command(request, service, "close", str(account_id), {}, execute)


def create_app(service_factory: Callable[[], AccountsService]) -> FastAPI:
    """The accounts command API around one AccountsService."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = service_factory()
        yield
        app.state.service.close()

    app = FastAPI(
        title="Paystream accounts commands",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(router)

    def ready() -> bool:
        service: AccountsService | None = getattr(app.state, "service", None)
        if service is None:
            return False
        service.recorder.max_notification_id()
        return True

    install_health(app, ready)
    return app
