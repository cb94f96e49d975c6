"""An account as its readers see it now: the overview API's answer (summary, latest
statement entries, payments in flight), asked with the signed-in person's own token, so
the query APIs authorize them as they authorize anyone (staff may read any account)."""

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


def overview_api_url(data_dir: Path) -> str | None:
    """Where the overview API answers, as `paystream up` recorded it."""
    try:
        targets = read_targets(data_dir)
    except BadLayout:
        return None
    return next((t.url for t in targets if t.name == OVERVIEW_API), None)


def account_now(data_dir: Path, token: str, account_id: UUID) -> AccountNow:
    """The account's overview, asked as the bearer of `token`."""
    url = overview_api_url(data_dir)
    if url is None:
        return AccountNow(problem=f"no {OVERVIEW_API} is listed in {data_dir}/services.json")
    try:
        answer = httpx.get(
            f"{url}/accounts/{account_id}/overview",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        return AccountNow(problem=f"the {OVERVIEW_API} cannot be reached ({type(error).__name__})")
    if answer.status_code == 404:
        return AccountNow(problem="the query side does not know this account (yet)")
    if not answer.is_success:
        return AccountNow(problem=f"the {OVERVIEW_API} answered {answer.status_code}")
    overview: dict[str, Any] = answer.json()
    return AccountNow(overview)
