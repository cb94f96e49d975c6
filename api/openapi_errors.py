"""OpenAPI declarations of problem+json answers, generated from the problem types a route raises."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from api.problem_types import VALIDATION_ERROR, ProblemType
from api.problems import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA_NAME = "Problem"
PROBLEM_REF = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_SCHEMA_NAME,
    "description": "RFC 9457 problem details; `type` is stable, `/problems/<code>`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "pattern": "^/problems/[a-z0-9-]+$"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The path of the request."},
        "errors": {
            "type": "array",
            "items": {"type": "string"},
            "description": "`validation-error` only: one `<field>: <message>` per error.",
        },
        "reason": {
            "type": "string",
            "description": "`invalid-token` and `authentication-required` only: why the"
            " token was refused (`expired`, `wrong-audience`...).",
        },
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "`not-ready` only: each dependency the service lacks.",
        },
    },
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
# FastAPI's own 422 shape, which this project never answers.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_responses(*types: ProblemType) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer with `types`: one entry per status."""
    by_status: dict[int, list[ProblemType]] = {}
    for problem in types:
        group = by_status.setdefault(problem.status, [])
        if problem not in group:
            group.append(problem)
    return {status: _response(status, group) for status, group in sorted(by_status.items())}


def _response(status: int, group: list[ProblemType]) -> dict[str, Any]:
    codes = ", ".join(f"`/problems/{problem.code}`" for problem in group)
    response: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}: {codes}",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
    }
    if any(problem.retry_after for problem in group):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def document_problems(app: FastAPI) -> None:
    """Put the Problem schema in `app`'s OpenAPI document, in place of FastAPI's 422 shape."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
        for operation in _operations(document):
            _replace_default_422(operation.get("responses", {}))
        for name in FASTAPI_VALIDATION_SCHEMAS:
            schemas.pop(name, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path in document.get("paths", {}).values()
        for operation in path.values()
        if isinstance(operation, dict)
    ]


def _replace_default_422(responses: dict[str, Any]) -> None:
    """A route that declared no 422 of its own gets the validation-error problem."""
    content = responses.get("422", {}).get("content", {})
    if "application/json" in content and PROBLEM_MEDIA_TYPE not in content:
        responses["422"] = _response(422, [VALIDATION_ERROR])
