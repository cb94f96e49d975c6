"""OpenAPI header parameters as the server checks them.

Command endpoints read their headers from the request (they are checked by
api/commands.py, not by FastAPI), so their parameters are declared here; the
consistency token, declared by FastAPI, gets the pattern the server enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI

from api.commands import IDEMPOTENCY_HEADER
from api.metadata_headers import (
    CAUSATION_ID,
    CAUSATION_ID_PATTERN,
    CORRELATION_ID,
    CORRELATION_ID_PATTERN,
    TRACEPARENT,
    TRACEPARENT_PATTERN,
)

# api/consistency.py: `<context>:<position>`; api/commands.py: 1-200 printable ASCII.
POSITION = "[0-9]{1,18}"
ANY_TOKEN_PATTERN = f"^[a-z][a-z0-9_]{{0,62}}:{POSITION}$"
IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,200}$"
# Why a command is asked (metadata only; who asks is the bearer token's subject); the
# patterns are the ones the server checks (api/metadata_headers.py).
METADATA_HEADERS: dict[str, tuple[str, dict[str, Any]]] = {
    CORRELATION_ID: (
        "The conversation this command belongs to.",
        {"type": "string", "pattern": f"^{CORRELATION_ID_PATTERN}$"},
    ),
    CAUSATION_ID: (
        "What caused this command (`<context>:<position>`).",
        {"type": "string", "pattern": f"^{CAUSATION_ID_PATTERN}$"},
    ),
    TRACEPARENT: (
        "W3C trace context.",
        {"type": "string", "pattern": f"^{TRACEPARENT_PATTERN}$"},
    ),
}


def token_schema(contexts: Iterable[str] | None = None) -> dict[str, Any]:
    """The consistency tokens an API accepts: a position in one of `contexts` (any if None)."""
    names = sorted(contexts) if contexts is not None else None
    pattern = f"^({'|'.join(names)}):{POSITION}$" if names else ANY_TOKEN_PATTERN
    example = f"{names[0] if names else 'accounts'}:0"
    return {"type": "string", "pattern": pattern, "example": example}


def command_headers(*, key_required: bool = False, key_format: str = "") -> dict[str, Any]:
    """`openapi_extra` of a command route: the Idempotency-Key and metadata headers."""
    key = {
        "name": IDEMPOTENCY_HEADER,
        "in": "header",
        "required": key_required,
        "description": key_format or "Makes a retry of this command return the first answer.",
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    }
    metadata = [
        {"name": name, "in": "header", "required": False, "description": text, "schema": schema}
        for name, (text, schema) in METADATA_HEADERS.items()
    ]
    return {"parameters": [key, *metadata]}


def answer_headers(status: int, *, location: str | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses` entry of a command's success: its consistency token, replay flag, Location."""
    headers: dict[str, Any] = {
        "X-Consistency-Token": {
            "description": "Read your write: send it to a query API.",
            "required": True,
            "schema": {"type": "string", "pattern": ANY_TOKEN_PATTERN},
        },
        "Idempotent-Replayed": {
            "description": "The first answer to this Idempotency-Key, replayed.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    }
    if location:
        headers["Location"] = {
            "description": location,
            "required": True,
            "schema": {"type": "string"},
        }
    return {status: {"headers": headers}}


def constrain_header(app: FastAPI, name: str, schema: dict[str, Any]) -> None:
    """Give every `name` header parameter of `app`'s document `schema` (not FastAPI's)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "header" and parameter.get("name") == name:
                        parameter["schema"] = schema
                        if "example" in schema:
                            parameter["example"] = schema["example"]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
