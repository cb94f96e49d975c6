"""The Accounts page: one account now (its summary, latest statement entries and payments
in flight, from the overview API), its history from the audit trail, and its state as of
a chosen time or version, as `paystream audit history` and `audit state --at` show them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from console.account_overview_reads import (
    account_now,
    payments_page,
    session_token,
    statement_page,
)
from console.audit_access import (
    BadInput,
    DamagedStore,
    field_text,
    parse_time,
    parse_uuid,
    recorded_read,
)
from console.events_page import events_url, pretty
from console.page_access import viewer
from console.pages import page
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from eventstore import audit_queries as queries
from eventstore.contexts import ACCOUNTS
from eventstore.settings import DatabaseSettings
from scripts.cli.audit_inspect import load_at_version, state_report
from scripts.cli.errors import CliError


def parse_at(text: str | None) -> int | datetime:
    """A version (digits only), a time (UTC unless it names a zone), or now when empty."""
    if text is None or text.lower() == "now":
        return datetime.now(UTC)
    if text.isascii() and text.isdigit():
        if int(text) < 1:
            raise BadInput("At: versions start at 1")
        return int(text)
    moment = parse_time(text, "At")
    assert moment is not None
    return moment


def state_at(
    db: DatabaseSettings, account: UUID, at: int | datetime, latest: int
) -> dict[str, Any] | str:
    """The account's state report at `at`, or a sentence saying why there is none."""
    if isinstance(at, int):
        if at > latest:
            return f"The account has {latest} versions; there is no version {at}."
        version = at
    else:
        version = queries.version_at(db, ACCOUNTS, account, at)
        if version == 0:
            return f"The account did not exist yet at {at.isoformat()}."
    try:
        return state_report(ACCOUNTS, load_at_version(db, ACCOUNTS, account, version), latest)
    except CliError as error:
        return str(error)


def state_shown(report: dict[str, Any]) -> dict[str, Any]:
    """The report and each field of the state as JSON (a dict or list kept readable)."""
    return {"report": report, "state_json": {k: pretty(v) for k, v in report["state"].items()}}


def older(
    form: dict[str, Any], pages: dict[str, Any], which: str, cursor: str | None
) -> str | None:
    """The link to the next, older page of `which` (the other list stays where it is)."""
    if cursor is None:
        return None
    query = {k: v for k, v in (form | pages).items() if v} | {which: cursor}
    return f"{PATH_PREFIX}/accounts?{urlencode(query)}"


def accounts_router(sessions: Sessions, data_dir: Path) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    @router.get("/accounts")
    def accounts(
        request: Request,
        account_id: str | None = None,
        at: str | None = None,
        statement_cursor: str | None = None,
        payments_cursor: str | None = None,
    ) -> Response:
        """An account now (its figures, a page of its statement and of its payments),
        its history and its state at a time or version (now by default)."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        form = {"account_id": field_text(account_id), "at": field_text(at)}
        values: dict[str, Any] = {"title": "Accounts", "form": form}
        try:
            account = parse_uuid(text, "Account") if (text := form["account_id"]) else None
            moment = parse_at(form["at"])
        except BadInput as error:
            return page(request, "accounts.html", principal, 400, error=str(error), **values)
        if account is None:
            return page(request, "accounts.html", principal, history=None, **values)
        try:
            with recorded_read(principal, "audit state", form) as db:
                history = list(queries.aggregate_history(db, ACCOUNTS, account))
                report = state_at(db, account, moment, len(history)) if history else None
        except DamagedStore as error:
            return page(request, "accounts.html", principal, error=str(error), **values)
        if not history:
            return page(request, "accounts.html", principal, history=history, **values)
        token = session_token(request, sessions)
        now = account_now(data_dir, token, account)
        statement = statement_page(data_dir, token, account, field_text(statement_cursor))
        payments = payments_page(data_dir, token, account, field_text(payments_cursor))
        pages = {"statement_cursor": statement_cursor, "payments_cursor": payments_cursor}
        shown = state_shown(report) if isinstance(report, dict) else {"state_problem": report}
        link = events_url(context=ACCOUNTS.name, aggregate_id=account)
        return page(
            request,
            "accounts.html",
            principal,
            history=history,
            now=now,
            events_link=link,
            statement=statement,
            payments=payments,
            older_entries=older(form, pages, "statement_cursor", statement.next_cursor),
            older_payments=older(form, pages, "payments_cursor", payments.next_cursor),
            **shown,
            **values,
        )

    return router
