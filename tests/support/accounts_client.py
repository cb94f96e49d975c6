"""Small helpers over the accounts HTTP APIs, shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx

from api.consistency import HEADER as TOKEN_HEADER

PROBLEM_MEDIA_TYPE = "application/problem+json"


def open_account(client: httpx.Client, owner: str = "Ada Lovelace", currency: str = "EUR") -> str:
    """Open an account and return its id."""
    response = client.post("/accounts", json={"owner": owner, "currency": currency})
    assert response.status_code == 201, response.text
    account_id: str = response.json()["account_id"]
    return account_id


def command(
    client: httpx.Client, account_id: str, name: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """Send one command (`deposits`, `withdrawals`, `freeze`, ...) that must succeed."""
    response = client.post(f"/accounts/{account_id}/{name}", json=body or {})
    assert response.status_code == 200, response.text
    return response


def read_back(queries: httpx.Client, account_id: str, after: httpx.Response) -> dict[str, Any]:
    """The summary of the account, read once, consistent with the command answer `after`."""
    token = after.headers[TOKEN_HEADER]
    response = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: token})
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    return summary


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and stable type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{code}", problem
    assert problem["status"] == status, problem
    assert isinstance(problem["title"], str) and problem["title"], problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    return problem
