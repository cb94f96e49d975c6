"""RFC 9457 problem+json: one stable `type` per kind of error, one place that renders it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem codes of errors raised as HTTP statuses (by routing, or by api/request_limits.py).
HTTP_ERROR_CODES = {
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
}
FASTAPI_BODY_ERROR = "There was an error parsing the body"


class Problem(Exception):
    """An error answered as problem+json; `code` becomes the stable type /problems/<code>."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("-", " ").capitalize()
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    body.update(problem.extra)
    return Response(
        orjson.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _describe(error: dict[str, Any]) -> str:
    parts = [str(part) for part in error.get("loc", ())]
    if parts[:1] == ["body"] and len(parts) > 1:
        parts = parts[1:]  # "amount", not "body.amount"; a missing body stays "body"
    location = ".".join(parts)
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    return f"{location}: {message}" if location else message


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        problem = Problem(400, "malformed-json", "the request body is not valid JSON")
    else:
        details = [_describe(e) for e in errors]
        problem = Problem(422, "validation-error", "; ".join(details), extra={"errors": details})
    return problem_response(problem, request.url.path)


async def _on_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, Problem)
    return problem_response(error, request.url.path)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.detail == FASTAPI_BODY_ERROR:  # not UTF-8, say
        problem = Problem(400, "malformed-json", "the request body is not valid UTF-8 JSON")
    else:
        code = HTTP_ERROR_CODES.get(error.status_code, "http-error")
        headers = dict(error.headers or {})  # a 405 keeps its Allow header
        problem = Problem(error.status_code, code, str(error.detail), headers=headers)
    return problem_response(problem, request.url.path)


async def _on_unexpected_error(request: Request, error: Exception) -> Response:
    """A bug still answers problem+json; the server logs the traceback (it re-raises)."""
    problem = Problem(500, "internal-error", "an unexpected error occurred; it has been logged")
    return problem_response(problem, request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error of `app` leaves as problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
