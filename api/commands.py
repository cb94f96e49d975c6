"""What every command endpoint shares: metadata from the caller's token and headers,
idempotency keys, errors as problems, and the answer.

The actor stored with every event is the verified token's subject, never a header. An
Idempotency-Key belongs to its caller: it is stored as `<subject> <key>` (a key holds no
spaces), so two callers' keys never meet.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError
from fastapi import Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel

from api.authentication import caller
from api.consistency import HEADER as TOKEN_HEADER
from api.metadata_headers import MetadataHeaders, metadata_headers
from api.problems import Problem
from domains.command_records import IdempotentOutcome
from domains.command_result import CommandResult
from domains.errors import Conflict, DomainError, Forbidden, NotFound, Rejected
from domains.service import CommandService
from eventstore.contexts import Context
from eventstore.idempotency import ERASED_FINGERPRINT, IdempotencyKeyTaken
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.store_metrics import count_replay

# A domain refusal's status comes from its kind, never from its code.
STATUS_OF_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (Rejected, 422),
)
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

R = TypeVar("R", bound=CommandResult)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Translate domain and storage errors into problems, once, at this boundary."""
    try:
        yield
    except DomainError as error:
        status = next((code for kind, code in STATUS_OF_KIND if isinstance(error, kind)), 422)
        extra = {"field": error.field} if error.field else None
        raise Problem(status, error.code, str(error), extra=extra) from None
    except IntegrityError:
        raise Problem(
            409,
            "concurrent-modification",
            "the aggregate kept changing; retry the command",
            headers={"Retry-After": "1"},
        ) from None
    except (OperationalError, PersistenceError) as error:
        raise Problem(
            503,
            "store-unavailable",
            f"the event store is unavailable: {error}",
            headers={"Retry-After": "2"},
        ) from None


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, checked: 1-200 printable ASCII characters, sent once."""
    values = request.headers.getlist(IDEMPOTENCY_HEADER)
    if not values:
        return None
    raw = values[0]
    if len(values) > 1 or not _KEY.fullmatch(raw):
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"{IDEMPOTENCY_HEADER} must be 1 to 200 printable ASCII characters without spaces",
            extra={"field": IDEMPOTENCY_HEADER},
        )
    return raw


def fingerprint(command: str, target: str, body: dict[str, Any]) -> str:
    """A digest of what was asked, to tell a retry from a different request with the same key.

    Stdlib json, not orjson: a body may hold integers beyond 64 bits, or lone surrogates,
    that the domain has yet to refuse (orjson raises on both; surrogatepass digests them).
    """
    canonical = json.dumps(
        [command, target, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def metadata_for(
    actor: str, headers: MetadataHeaders, key: str | None, request_fingerprint: str
) -> CommandMetadata:
    """Who is asking (the verified subject) and in answer to what (the checked headers)."""
    return CommandMetadata(
        actor=actor,
        correlation_id=headers.correlation_id,
        causation_id=headers.causation_id,
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        traceparent=headers.traceparent,
    )


def run_idempotently(
    request: Request,
    command: str,
    target: str,
    body: dict[str, Any],
    service: CommandService[Aggregate, R],
    execute: Callable[[], R],
) -> tuple[R, bool]:
    """Run `execute` once per Idempotency-Key; a retry gets the service's replay of the first
    outcome. Domain and storage errors become problems.

    Returns the result and whether it was replayed.
    """
    headers = metadata_headers(request.headers)
    subject = caller(request).subject
    key = idempotency_key(request)
    scoped = None if key is None else f"{subject} {key}"
    digest = fingerprint(command, target, body)
    with domain_errors():
        if scoped is not None and (outcome := service.find_outcome(scoped)) is not None:
            return _replayed(key, outcome, digest, service), True
        try:
            with command_metadata(metadata_for(subject, headers, scoped, digest)):
                return execute(), False
        except IdempotencyKeyTaken:
            assert scoped is not None
            outcome = service.find_outcome(scoped)
            assert outcome is not None, "a taken key always has an outcome"
            return _replayed(key, outcome, digest, service), True


def _replayed(
    key: str | None, outcome: IdempotentOutcome, digest: str, service: CommandService[Aggregate, R]
) -> R:
    if outcome.request_fingerprint not in (digest, ERASED_FINGERPRINT):
        raise Problem(
            422,
            "idempotency-key-reused",
            f"{IDEMPOTENCY_HEADER} {key!r} was already used for a different request",
        )
    return service.replay(outcome)


def answer(
    model: type[BaseModel],
    context: Context,
    result: CommandResult,
    status: int,
    replayed: bool,
    location: str | None = None,
) -> ORJSONResponse:
    """A command's answer: `model` (the HTTP contract) filled from the result's fields of
    the same names, with the consistency token in the body and its header; a replayed
    answer is counted (paystream_event_store_idempotent_replays_total)."""
    token = f"{context.name}:{result.position}"
    body = model.model_validate({**vars(result), "consistency_token": token})
    headers = {TOKEN_HEADER: token}
    if location is not None:
        headers["Location"] = location
    if replayed:
        headers[REPLAY_HEADER] = "true"
        count_replay(context.name)
    return ORJSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)
