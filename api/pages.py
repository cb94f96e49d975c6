"""Keyset pagination for the query APIs: the page size and opaque cursors.

A cursor is the base64url text of the sort key of the last item a page returned;
clients pass it back as it is. Anything else is answered 400 invalid-cursor.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Query

from api.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 200
MAX_POSITION = 2**63 - 1

Row = TypeVar("Row")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
]


def encode_cursor(*key: int | str) -> str:
    """The opaque cursor that resumes after the item whose sort key is `key`."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *shape: type[int] | type[str]) -> tuple[Any, ...]:
    """The sort key inside `cursor`, checked against `shape` (e.g. `int` for a position)."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        key = orjson.loads(raw)
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise invalid_cursor() from None
    if not isinstance(key, list) or len(key) != len(shape):
        raise invalid_cursor()
    if any(type(part) is not kind for part, kind in zip(key, shape, strict=True)):
        raise invalid_cursor()
    if any(isinstance(part, int) and not 0 <= part <= MAX_POSITION for part in key):
        raise invalid_cursor()
    return tuple(key)


def decode_position(cursor: str | None) -> int:
    """The position a page starts below; past the newest item when there is no cursor."""
    if cursor is None:
        return MAX_POSITION
    (position,) = decode_cursor(cursor, int)
    return int(position)


def split_page(rows: Sequence[Row], limit: int) -> tuple[list[Row], Row | None]:
    """A page fetched with `limit + 1` rows: its items, and the last item when more
    follow (its key makes the next cursor)."""
    items = list(rows[:limit])
    return items, (items[-1] if len(rows) > limit else None)


def invalid_cursor() -> Problem:
    return Problem(400, "invalid-cursor", "cursor must be the next_cursor of a previous page")
