"""An account as its readers see it now, from the query APIs, asked with the signed-in
person's own token, so they authorize them as they authorize anyone (staff may read any
account): the overview API's answer (summary, latest entries, payments in flight), and a
page of its statement and of its payments (newest first, the APIs' cursors to go on)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from starlette.requests import Request

from console.sessions import SESSION_COOKIE, Sessions
from scripts.devstack.layout import BadLayout, read_targets

OVERVIEW_API = "overview-api"
STATEMENT_API = "account-statement-query-api"
PAYMENTS_API = "payments-query-api"
PAGE = 20  # entries or payments a page
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AccountNow:
    """The overview's answer, or why there is none (`problem`)."""

    overview: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


def session_token(request: Request, sessions: Sessions) -> str:
    """The signed-in person's access token, as the session cookie holds it."""
    content = sessions.signer.read(request.cookies.get(SESSION_COOKIE)) or {}
    return str(content.get("token", ""))


@dataclass(frozen=True)
class QueryPage:
    """One page a query API answered (`items`, and the cursor of the next, older one),
    or why there is none (`problem`)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    problem: str = ""


def api_url(data_dir: Path, name: str) -> str | None:
    """Where the service `name` answers, as `paystream up` recorded it."""
    try:
        targets = read_targets(data_dir)
    except BadLayout:
        return None
    return next((t.url for t in targets if t.name == name), None)


def ask(
    data_dir: Path, name: str, path: str, token: str, params: dict[str, Any] | None = None
) -> dict[str, Any] | str:
    """The JSON `name` answers at `path` to the bearer of `token`, or why there is none."""
    url = api_url(data_dir, name)
    if url is None:
        return f"no {name} is listed in {data_dir}/services.json"
    try:
        answer = httpx.get(
            f"{url}{path}",
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        return f"the {name} cannot be reached ({type(error).__name__})"
    if answer.status_code == 404:
        return "the query side does not know this account (yet)"
    if not answer.is_success:
        return f"the {name} answered {answer.status_code}"
    found: dict[str, Any] = answer.json()
    return found


def account_now(data_dir: Path, token: str, account_id: UUID) -> AccountNow:
    """The account's overview, asked as the bearer of `token`."""
    found = ask(data_dir, OVERVIEW_API, f"/accounts/{account_id}/overview", token)
    return AccountNow(problem=found) if isinstance(found, str) else AccountNow(found)


def statement_page(data_dir: Path, token: str, account_id: UUID, cursor: str | None) -> QueryPage:
    """A page of the account's statement, newest first, from `cursor` (None: the newest)."""
    path = f"/accounts/{account_id}/statement"
    found = ask(data_dir, STATEMENT_API, path, token, {"limit": PAGE, "cursor": cursor})
    if isinstance(found, str):
        return QueryPage(problem=found)
    return QueryPage(found["entries"], found["next_cursor"])


def payments_page(data_dir: Path, token: str, account_id: UUID, cursor: str | None) -> QueryPage:
    """A page of the payments from or to the account, newest first, from `cursor`."""
    params = {"account": str(account_id), "limit": PAGE, "cursor": cursor}
    found = ask(data_dir, PAYMENTS_API, "/payments", token, params)
    if isinstance(found, str):
        return QueryPage(problem=found)
    return QueryPage(found["payments"], found["next_cursor"])
