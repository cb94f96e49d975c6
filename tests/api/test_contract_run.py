"""The contract run finds what a document leaves out, and forgives only what it must."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, Header
from fastapi.responses import ORJSONResponse

from api.accounts_commands import MoveMoney
from api.commands import domain_errors
from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.openapi_errors import document_problems, problem_responses
from api.openapi_headers import constrain_header, token_schema
from api.problem_types import (
    ACCOUNT_NOT_FOUND,
    BODY_PROBLEMS,
    CONSISTENCY_TIMEOUT,
    INTERNAL_ERROR,
    INVALID_AMOUNT,
    QUERY_PROBLEMS,
    REQUEST_PROBLEMS,
    ProblemType,
)
from api.problems import Problem, install_problem_handlers
from domains.money import check_amount
from tests.support.contract_run import contract_failures


def app_answering(problem: Problem, declared: tuple[ProblemType, ...]) -> FastAPI:
    """One operation that always answers `problem`; its document declares `declared`."""
    app = FastAPI(default_response_class=ORJSONResponse)
    install_problem_handlers(app)
    document_problems(app)

    @app.get("/things/{thing_id}", responses=problem_responses(INTERNAL_ERROR, *declared))
    def get_thing(thing_id: UUID) -> dict[str, str]:
        raise problem

    return app


def kinds(failures: list[str]) -> set[str]:
    return {failure.split(": ")[1] for failure in failures}


def test_an_undeclared_problem_fails_the_contract() -> None:
    app = app_answering(Problem(404, "account-not-found", "no such account"), declared=())
    assert "Undocumented status code" in kinds(contract_failures(app))


def test_a_declared_problem_keeps_the_contract() -> None:
    app = app_answering(Problem(404, "account-not-found", "no such account"), (ACCOUNT_NOT_FOUND,))
    assert contract_failures(app) == []


def test_refusing_a_valid_request_fails_unless_no_document_could_say_why() -> None:
    owner = ProblemType("invalid-owner", 422)
    refused = app_answering(Problem(422, "invalid-owner", "refused"), (owner,))
    assert "Schema-valid request rejected" in kinds(contract_failures(refused))
    filters = ProblemType("filter-required", 422)
    forgiven = app_answering(Problem(422, "filter-required", "refused"), (filters,))
    assert contract_failures(forgiven) == []


def test_a_503_is_a_server_error_unless_it_says_when_to_retry() -> None:
    late = Problem(503, "consistency-timeout", "late", headers={"Retry-After": "1"})
    assert contract_failures(app_answering(late, (CONSISTENCY_TIMEOUT,))) == []
    broken = Problem(503, "consistency-timeout", "late")
    assert "Server error" in kinds(contract_failures(app_answering(broken, (CONSISTENCY_TIMEOUT,))))


def test_a_whole_float_refused_as_an_amount_is_forgiven() -> None:
    """JSON Schema counts 10.0 as an integer; the APIs take integer literals only."""
    app = FastAPI(default_response_class=ORJSONResponse)
    install_problem_handlers(app)
    document_problems(app)

    declared = (*REQUEST_PROBLEMS, *BODY_PROBLEMS, INVALID_AMOUNT)

    @app.post("/deposits", responses=problem_responses(*declared))
    def deposit(body: MoveMoney) -> dict[str, int]:
        with domain_errors():
            return {"amount": check_amount(body.amount)}

    assert contract_failures(app) == []


def test_a_token_the_generator_cannot_write_is_forgiven() -> None:
    """schemathesis' coverage phase puts only letters and digits in headers (so no `:`)."""
    app = FastAPI(default_response_class=ORJSONResponse)
    install_problem_handlers(app)
    document_problems(app)

    @app.get("/tokens", responses=problem_responses(*QUERY_PROBLEMS))
    def read(token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None) -> dict[str, str]:
        return {"token": "" if token is None else str(ConsistencyToken.parse(token))}

    constrain_header(app, TOKEN_HEADER, token_schema({"accounts"}))
    assert contract_failures(app) == []
