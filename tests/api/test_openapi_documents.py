"""The OpenAPI documents, read without a server: every error is a declared problem."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import FastAPI

import domains.accounts.errors
import domains.money
import domains.payments.errors  # noqa: F401  (their refusals subclass DomainError)
from api import problem_types
from api.commands import domain_errors
from api.health import worker_app
from api.openapi_errors import PROBLEM_REF, PROBLEM_SCHEMA, problem_responses
from api.problem_types import (
    ACCOUNT_NOT_FOUND,
    CONCURRENT_MODIFICATION,
    INSUFFICIENT_FUNDS,
    STORE_UNAVAILABLE,
    ProblemType,
)
from api.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response
from domains.errors import DomainError
from tests.support.public_apps import public_apps


async def nothing_missing() -> list[str]:
    """A readiness check that finds every dependency there."""
    return []


def every_app() -> dict[str, FastAPI]:
    return public_apps() | {"worker": worker_app("worker", nothing_missing, dict)}


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


DOCUMENTS = {name: app.openapi() for name, app in every_app().items()}
OPERATIONS = [
    pytest.param(operation, id=f"{name}: {label}")
    for name, document in DOCUMENTS.items()
    for label, operation in operations(document)
]


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_the_problem_schema_replaces_fastapis_validation_error(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["Problem"] == PROBLEM_SCHEMA
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_error_answer_is_a_declared_problem(operation: dict[str, Any]) -> None:
    errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
    assert "500" in errors
    for response in errors.values():
        assert response["content"] == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_bodies_and_headers_declare_their_refusals(operation: dict[str, Any]) -> None:
    statuses = set(operation["responses"])
    if "requestBody" in operation:
        assert {"400", "413", "415", "422"} <= statuses
    if any(p["in"] == "header" for p in operation.get("parameters", [])):
        assert "422" in statuses


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_503_says_when_to_retry(operation: dict[str, Any]) -> None:
    unavailable = operation["responses"].get("503")
    if unavailable is not None:
        assert "Retry-After" in unavailable["headers"]


def test_one_entry_per_status_naming_each_type_once() -> None:
    responses = problem_responses(ACCOUNT_NOT_FOUND, INSUFFICIENT_FUNDS, ACCOUNT_NOT_FOUND)
    assert sorted(responses) == [404, 409]
    assert responses[404]["description"] == "Not Found: `/problems/account-not-found`"
    assert "headers" not in responses[409]


def test_retry_after_is_declared_when_one_type_of_the_status_carries_it() -> None:
    responses = problem_responses(INSUFFICIENT_FUNDS, CONCURRENT_MODIFICATION, STORE_UNAVAILABLE)
    assert "Retry-After" in responses[409]["headers"]
    assert "Retry-After" in responses[503]["headers"]


def refusals(kind: type[DomainError]) -> list[type[DomainError]]:
    return [kind, *(sub for direct in kind.__subclasses__() for sub in refusals(direct))]


CATALOG: dict[str, ProblemType] = {}
for value in vars(problem_types).values():
    if isinstance(value, ProblemType):
        # The first of a code is the domain's (PAYMENT_CURRENCY_MISMATCH is the API's own).
        CATALOG.setdefault(value.code, value)
# Bases that name a family, never raised themselves.
FAMILIES = {"domain-error", "account-error", "payment-error"}
DOMAIN_REFUSALS = [
    kind
    for kind in refusals(DomainError)
    if kind.code not in FAMILIES and kind.__module__.startswith("domains.")  # not tests'
]


@pytest.mark.parametrize("refusal", DOMAIN_REFUSALS, ids=lambda kind: kind.code)
def test_every_domain_refusal_is_in_the_catalog_with_its_status(
    refusal: type[DomainError],
) -> None:
    """The catalog and the translation in api/commands.py agree on each domain code."""
    with pytest.raises(Problem) as raised, domain_errors():
        raise refusal("refused")
    assert refusal.code in CATALOG
    assert raised.value.status == CATALOG[refusal.code].status


@pytest.mark.parametrize(
    "problem",
    [
        Problem(404, "account-not-found", "no such account"),
        Problem(422, "validation-error", "amount: bad", extra={"errors": ["amount: bad"]}),
    ],
)
def test_an_answered_problem_fits_the_declared_schema(problem: Problem) -> None:
    body = orjson.loads(problem_response(problem, "/accounts").body)
    assert set(PROBLEM_SCHEMA["required"]) <= set(body) <= set(PROBLEM_SCHEMA["properties"])
    assert body["type"] == f"/problems/{problem.code}"


COMMANDS = [
    pytest.param(operation, id=f"{name}: {label}")
    for name in ("accounts-api", "payments-api")
    for label, operation in operations(DOCUMENTS[name])
]


@pytest.mark.parametrize("operation", COMMANDS)
def test_a_command_answer_declares_its_consistency_token(operation: dict[str, Any]) -> None:
    (success,) = [r for status, r in operation["responses"].items() if status.startswith("2")]
    assert success["headers"]["X-Consistency-Token"]["required"] is True
    assert "Idempotent-Replayed" in success["headers"]
