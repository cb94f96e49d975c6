"""The notifications query API: an account's feed, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from pydantic import BaseModel

from api.openapi_errors import problem_responses
from api.pages import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    split_page,
)
from api.problem_types import ACCOUNT_NOT_FOUND, INVALID_CURSOR, QUERY_PROBLEMS
from api.problems import Problem
from api.query_app import Consistent, Pool, QueryApi
from projections.notifications import NotificationsProjection

router = APIRouter(prefix="/accounts", tags=["notifications"])
SCHEMA = Identifier(NotificationsProjection.read_schema())
NEWEST_FIRST = SQL(
    "SELECT id, occurred_at AS time, kind, amount, currency, counterparty, payment_id,"
    " reference, reason, refunded FROM {}.notifications"
    " WHERE account_id = %s AND (occurred_at, id) < (%s, %s)"
    " ORDER BY occurred_at DESC, id DESC LIMIT %s"
).format(SCHEMA)
KNOWN_ACCOUNT = SQL(
    "SELECT EXISTS (SELECT 1 FROM {schema}.accounts WHERE account_id = %(id)s)"
    " OR EXISTS (SELECT 1 FROM {schema}.notifications WHERE account_id = %(id)s) AS known"
).format(schema=SCHEMA)
BEYOND_NEWEST = (datetime.max.replace(tzinfo=UTC), "")


class Notification(BaseModel):
    """Something that happened to an account's money; amounts in minor units."""

    id: str
    time: datetime
    kind: Literal["deposit", "withdrawal", "payment_sent", "payment_received", "payment_failed"]
    amount: int
    currency: str
    counterparty: str | None
    payment_id: str | None
    reference: str | None
    reason: str | None
    refunded: bool | None


class NotificationPage(BaseModel):
    """One page of an account's feed; `next_cursor` is null on the last page."""

    account_id: UUID
    notifications: list[Notification]
    next_cursor: str | None


@router.get(
    "/{account_id}/notifications",
    response_model=NotificationPage,
    responses=problem_responses(*QUERY_PROBLEMS, ACCOUNT_NOT_FOUND, INVALID_CURSOR),
)
async def get_notifications(
    pool: Pool,
    account_id: UUID,
    _: Consistent,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """An account's notifications, newest first."""
    before = BEYOND_NEWEST if cursor is None else decode_time_key(cursor)
    async with pool.connection() as conn:
        reader = conn.cursor(row_factory=dict_row)
        params = (account_id, *before, limit + 1)
        rows = await (await reader.execute(NEWEST_FIRST, params)).fetchall()
        if not rows:
            known = await (await reader.execute(KNOWN_ACCOUNT, {"id": account_id})).fetchone()
            if not known or not known["known"]:
                raise Problem(404, "account-not-found", f"account {account_id} does not exist")
    notifications, last = split_page(rows, limit)
    return {
        "account_id": account_id,
        "notifications": notifications,
        "next_cursor": encode_cursor(last["time"].isoformat(), last["id"]) if last else None,
    }


def decode_time_key(cursor: str) -> tuple[datetime, str]:
    """The (time, id) of the last notification a previous page returned."""
    time, notification_id = decode_cursor(cursor, str, str)
    try:
        parsed = datetime.fromisoformat(time)
    except ValueError:
        raise invalid_cursor() from None
    if parsed.tzinfo is None:
        raise invalid_cursor()
    return parsed, notification_id


NOTIFICATIONS_API = QueryApi(
    name="notifications",
    role="paystream_notifications_query",
    projections=(NotificationsProjection,),
    router=router,
    title="Paystream notifications",
)
