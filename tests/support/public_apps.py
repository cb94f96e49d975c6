"""Every public service's app, built without a database or an issuer: to read the OpenAPI
documents they serve (no request reaches a service or asks for a key)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from api import accounts_app, payments_commands
from api.overview_app import create_overview_app
from api.query_app import create_query_app
from api.query_registry import QUERY_APIS
from identity.verifier import TokenVerifier

NO_DATABASE = "host=127.0.0.1 port=1 dbname=none"


def not_needed() -> Any:
    raise AssertionError("no service needed to read the OpenAPI document")


def public_apps() -> dict[str, FastAPI]:
    """The command, query and composition APIs, by service name."""
    verifier = TokenVerifier.from_settings()  # never asked: no request carries a token
    apps = {
        "accounts-api": accounts_app.create_app(not_needed, verifier),
        "payments-api": payments_commands.create_app(not_needed, verifier, httpx.Auth()),
    }
    queries = {
        f"{name}-query-api": create_query_app(api, NO_DATABASE, verifier)
        for name, api in QUERY_APIS.items()
    }
    overview = create_overview_app({}, verifier)
    return apps | queries | {"overview-api": overview}
