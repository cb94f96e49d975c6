"""The request headers that become event metadata, checked at the door.

Each is refused with 422 `invalid-header` naming it when it is malformed, repeated,
too long or not UTF-8: nothing a header carries reaches a stored event unchecked.
Header bytes arrive decoded as latin-1 (Starlette); they are re-read as UTF-8, so
`José` is stored as `José`, and bytes that are not UTF-8 are refused, never stored as
mojibake. Who asks is not a header: it is the verified token's subject
(api/authentication.py); an X-Actor header is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

from starlette.datastructures import Headers

from api.problems import Problem
from eventstore.contexts import CONTEXTS
from eventstore.log_context import current_log_context
from eventstore.metadata import TRACEPARENT_PATTERN as TRACEPARENT_PATTERN

CORRELATION_ID = "X-Correlation-Id"
CAUSATION_ID = "X-Causation-Id"
TRACEPARENT = "traceparent"

# The formats, as patterns both the checks below and the OpenAPI documents use
# (api/openapi_headers.py). Position 0 is what the saga names when it cannot find its
# cause; refusing it would turn a payment step into a refusal.
CORRELATION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}"
CAUSATION_ID_PATTERN = rf"({'|'.join(sorted(CONTEXTS))}):(0|[1-9][0-9]{{0,17}})"


@dataclass(frozen=True)
class MetadataHeaders:
    """In answer to what a request is made, as its headers say, checked."""

    correlation_id: str
    causation_id: str | None
    traceparent: str | None


def metadata_headers(headers: Headers) -> MetadataHeaders:
    """The checked metadata headers of a request, or a 422 problem naming the bad one. A
    request without a correlation id gets the one its log lines carry."""
    return MetadataHeaders(
        correlation_id=header(headers, CORRELATION_ID, correlation_id)
        or current_log_context().correlation_id
        or str(uuid4()),
        causation_id=header(headers, CAUSATION_ID, causation_id),
        traceparent=header(headers, TRACEPARENT, traceparent),
    )


def is_correlation_id(value: str) -> bool:
    """Whether `value` may be sent as X-Correlation-Id."""
    return bool(re.fullmatch(CORRELATION_ID_PATTERN, value))


def correlation_id(value: str) -> str:
    if not is_correlation_id(value):
        raise invalid(
            CORRELATION_ID, "must be 1 to 128 letters, digits or . _ : @ + = / - (a UUID, say)"
        )
    return value


def causation_id(value: str) -> str:
    if not re.fullmatch(CAUSATION_ID_PATTERN, value):
        contexts = " or ".join(sorted(CONTEXTS))
        raise invalid(CAUSATION_ID, f"must name an event as <context>:<position> ({contexts})")
    return value


def traceparent(value: str) -> str:
    """W3C Trace Context: version-traceid-parentid-flags, lowercase hex, ids not all zero."""
    if not re.fullmatch(TRACEPARENT_PATTERN, value):
        raise invalid(TRACEPARENT, "must be W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>")
    return value


def header(headers: Headers, name: str, check: Callable[[str], str]) -> str | None:
    """The one value of header `name`, decoded as UTF-8 and checked; None when absent."""
    values = headers.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise invalid(name, "must be sent once")
    try:
        text = values[0].encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise invalid(name, "must be UTF-8") from None
    return check(text)


def invalid(name: str, reason: str) -> Problem:
    return Problem(422, "invalid-header", f"{name} {reason}", extra={"field": name})
