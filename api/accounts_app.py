"""The accounts command API app: money commands and payment steps."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from api import account_payment_steps, accounts_commands
from api.command_app import create_command_app
from domains.accounts.application import AccountsService
from identity.verifier import TokenVerifier


def create_app(service_factory: Callable[[], AccountsService], verifier: TokenVerifier) -> FastAPI:
    """The accounts command API around one AccountsService, for callers `verifier` accepts."""
    return create_command_app(
        "Paystream accounts commands",
        service_factory,
        [accounts_commands.router, account_payment_steps.router],
        verifier,
    )
