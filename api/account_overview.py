"""The account overview: an account's summary, latest statement entries, payments in
flight and recent notifications in one answer, each part read from its query API in
parallel within a deadline (API composition).

A part that does not come in time, cannot be reached or answers an error is null and
named in `unavailable`; the answer is still 200. Only the summary decides the whole: its
404 (an unknown account, or someone else's) and 401 are answered as it answered them.
The query APIs authorize the caller themselves: each is sent the caller's token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from api.account_statement_query import StatementEntry
from api.account_summary_query import AccountSummary
from api.consistency import HEADER as TOKEN_HEADER
from api.consistency import ConsistencyToken
from api.notifications_query import Notification
from api.overview_parts import PARTS, Part, PartName
from api.payments_query import PaymentView
from api.problems import Problem
from api.upstream_parts import Missing, Reason, Upstream, within

# The summary's refusals that stand for the whole overview.
DECISIVE = {401: "invalid-token", 404: "account-not-found"}
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


class UnavailablePart(BaseModel):
    """A part left out of the overview: why, and the upstream's status when it answered."""

    part: PartName
    reason: Reason
    status: int | None
    detail: str


class AccountOverview(BaseModel):
    """One account at a glance; a null part is named in `unavailable`."""

    account_id: UUID
    summary: AccountSummary | None
    recent_entries: list[StatementEntry] | None
    payments_in_flight: list[PaymentView] | None
    recent_notifications: list[Notification] | None
    unavailable: list[UnavailablePart]


@dataclass(frozen=True)
class Composer:
    """Reads the parts of overviews over `http`: each from its query API (`urls`, by query
    API name), within `deadline` seconds."""

    http: httpx.AsyncClient
    urls: Mapping[str, str]
    deadline: float

    async def overview(
        self, account_id: UUID, headers: Mapping[str, str], token: ConsistencyToken | None
    ) -> dict[str, Any]:
        """The overview; a part's query API gets the consistency token when it follows
        the token's context."""
        tasks = {
            part.name: asyncio.create_task(self.read(part, account_id, headers, token))
            for part in PARTS
        }
        summary = await tasks["summary"]
        if isinstance(summary, Missing) and summary.status in DECISIVE:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise relayed(summary)
        found: dict[str, Any] = {name: await task for name, task in tasks.items()}
        missing = [value for value in found.values() if isinstance(value, Missing)]
        return {
            "account_id": account_id,
            **{name: None if isinstance(v, Missing) else v for name, v in found.items()},
            "unavailable": [unavailable(m) for m in missing],
        }

    async def read(
        self,
        part: Part,
        account_id: UUID,
        headers: Mapping[str, str],
        token: ConsistencyToken | None,
    ) -> Any:
        """One part, or why it is missing."""
        sent = dict(headers)
        if token is not None and part.follows(token.context):
            sent[TOKEN_HEADER] = str(token)
        upstream = Upstream(self.http, self.urls[part.api.name], sent)
        return await within(part.name, self.deadline, part.read(upstream, account_id))


def unavailable(missing: Missing) -> UnavailablePart:
    return UnavailablePart.model_validate(missing, from_attributes=True)


def relayed(missing: Missing) -> Problem:
    """The summary's refusal, answered as the summary API answered it."""
    assert missing.response is not None
    status = missing.response.status_code
    try:
        body = missing.response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = str(body.get("type", "")).removeprefix("/problems/") or DECISIVE[status]
    challenge = missing.response.headers.get("WWW-Authenticate")
    return Problem(
        status,
        code,
        str(body.get("detail", missing.detail)),
        title=body.get("title"),
        headers={"WWW-Authenticate": challenge} if challenge else None,
        extra={key: value for key, value in body.items() if key not in PROBLEM_MEMBERS},
    )
