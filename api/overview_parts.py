"""The parts of the account overview (api/account_overview.py): what each is, which
query API it is read from, and how."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args
from uuid import UUID

from api.account_statement_query import ACCOUNT_STATEMENT_API, Statement, StatementEntry
from api.account_summary_query import ACCOUNT_SUMMARY_API, AccountSummary
from api.notifications_query import NOTIFICATIONS_API, Notification, NotificationPage
from api.pages import MAX_LIMIT
from api.payments_query import PAYMENTS_API, PaymentPage, PaymentView
from api.query_app import QueryApi
from api.upstream_parts import Upstream
from domains.payments.aggregates import TERMINAL, PaymentStatus

RECENT = 10  # statement entries and notifications shown
IN_FLIGHT = sorted(set(get_args(PaymentStatus)) - TERMINAL)
PartName = Literal["summary", "recent_entries", "payments_in_flight", "recent_notifications"]


async def read_summary(upstream: Upstream, account_id: UUID) -> AccountSummary:
    return AccountSummary.model_validate(await upstream.get_json(f"/accounts/{account_id}"))


async def read_recent_entries(upstream: Upstream, account_id: UUID) -> list[StatementEntry]:
    page = await upstream.get_json(f"/accounts/{account_id}/statement", limit=RECENT)
    return Statement.model_validate(page).entries


async def read_payments_in_flight(upstream: Upstream, account_id: UUID) -> list[PaymentView]:
    """Payments from or to the account neither completed nor failed, newest first."""
    try:
        async with asyncio.TaskGroup() as group:
            pages = [
                group.create_task(
                    upstream.get_json(
                        "/payments", account=str(account_id), status=status, limit=MAX_LIMIT
                    )
                )
                for status in IN_FLIGHT
            ]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    found = [p for page in pages for p in PaymentPage.model_validate(page.result()).payments]
    return sorted(found, key=lambda payment: payment.created_at, reverse=True)


async def read_recent_notifications(upstream: Upstream, account_id: UUID) -> list[Notification]:
    page = await upstream.get_json(f"/accounts/{account_id}/notifications", limit=RECENT)
    return NotificationPage.model_validate(page).notifications


@dataclass(frozen=True)
class Part:
    """One part of the overview, read from the query API `api`."""

    name: PartName
    api: QueryApi
    read: Callable[[Upstream, UUID], Awaitable[Any]]

    def follows(self, context: str) -> bool:
        """Whether the part's read model follows `context` (and can wait on its tokens)."""
        return any(s.name == context for p in self.api.projections for s in p.sources)


PARTS = (
    Part("summary", ACCOUNT_SUMMARY_API, read_summary),
    Part("recent_entries", ACCOUNT_STATEMENT_API, read_recent_entries),
    Part("payments_in_flight", PAYMENTS_API, read_payments_in_flight),
    Part("recent_notifications", NOTIFICATIONS_API, read_recent_notifications),
)
CONTEXTS = sorted({s.name for part in PARTS for p in part.api.projections for s in p.sources})
