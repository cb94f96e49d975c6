"""The notifications query API: an account's feed, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.account_reads import check_readable
from api.authentication import Authenticated
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
from api.query_app import Consistent, Pool, QueryApi
from projections.notifications import NotificationKind, NotificationsProjection
from projections.notifications_queries import account_holder, notifications_page

router = APIRouter(prefix="/accounts", tags=["notifications"])


class Notification(BaseModel):
    """Something that happened to an account's money; amounts in minor units."""

    id: str
    time: datetime
    kind: NotificationKind
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
    caller: Authenticated,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """An account's notifications, newest first."""
    before = None if cursor is None else decode_time_key(cursor)
    async with pool.connection() as conn:
        check_readable(caller, account_id, await account_holder(conn, account_id))
        rows = await notifications_page(conn, account_id, before, limit + 1)
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
    projections=(NotificationsProjection,),
    router=router,
    title="Paystream notifications",
)
