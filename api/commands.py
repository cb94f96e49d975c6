"""What every command endpoint shares: metadata from headers, idempotency keys."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import uuid4

from fastapi import Request

from api.problems import Problem
from eventstore.idempotency import IdempotencyKeyTaken, IdempotentOutcome
from eventstore.metadata import CommandMetadata, command_metadata

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

T = TypeVar("T")


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, checked: 1-200 printable ASCII characters."""
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"{IDEMPOTENCY_HEADER} must be 1 to 200 printable ASCII characters without spaces",
        )
    return raw


def fingerprint(command: str, target: str, body: dict[str, Any]) -> str:
    """A digest of what was asked, to tell a retry from a different request with the same key.

    Stdlib json, not orjson: a body may hold integers beyond 64 bits that the domain
    has yet to refuse (orjson raises on them).
    """
    canonical = json.dumps(
        [command, target, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def metadata_for(request: Request, key: str | None, request_fingerprint: str) -> CommandMetadata:
    """Who is asking and in answer to what, from the request headers."""
    headers = request.headers
    return CommandMetadata(
        actor=headers.get("X-Actor", "anonymous")[:200],
        correlation_id=headers.get("X-Correlation-Id", str(uuid4()))[:200],
        causation_id=headers.get("X-Causation-Id"),
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        traceparent=headers.get("traceparent"),
    )


def run_idempotently(
    request: Request,
    command: str,
    target: str,
    body: dict[str, Any],
    find_outcome: Callable[[str], IdempotentOutcome | None],
    execute: Callable[[], T],
    replay: Callable[[IdempotentOutcome], T],
) -> tuple[T, bool]:
    """Run `execute` once per Idempotency-Key; a retry gets `replay` of the first outcome.

    Returns the answer and whether it was replayed.
    """
    key = idempotency_key(request)
    digest = fingerprint(command, target, body)
    if key is not None and (outcome := find_outcome(key)) is not None:
        return _replayed(outcome, digest, replay), True
    try:
        with command_metadata(metadata_for(request, key, digest)):
            return execute(), False
    except IdempotencyKeyTaken:
        assert key is not None
        outcome = find_outcome(key)
        assert outcome is not None, "a taken key always has an outcome"
        return _replayed(outcome, digest, replay), True


def _replayed(
    outcome: IdempotentOutcome, digest: str, replay: Callable[[IdempotentOutcome], T]
) -> T:
    if outcome.request_fingerprint != digest:
        raise Problem(
            422,
            "idempotency-key-reused",
            f"{IDEMPOTENCY_HEADER} {outcome.key!r} was already used for a different request",
        )
    return replay(outcome)
