"""The command APIs of `paystream serve`: accounts and payments, each on its own pool."""

from __future__ import annotations

from api import accounts_app, payments_commands
from api.quiet_server import serve_app
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from eventstore.personal_data.kek_check import verified_kek
from eventstore.settings import DatabaseSettings
from identity.service_tokens import ServiceTokens
from identity.verifier import TokenVerifier

COMMAND_API_POOL = 16


def serve_accounts_api(host: str, port: int) -> None:
    db = DatabaseSettings()
    verified_kek(db.role_conninfo(ACCOUNTS.role))  # its mapper seals with that KEK
    env = application_env(ACCOUNTS, db, pool_size=COMMAND_API_POOL)
    app = accounts_app.create_app(lambda: AccountsService(env=env), TokenVerifier.from_settings())
    serve_app(app, host, port)


def serve_payments_api(host: str, port: int) -> None:
    db = DatabaseSettings()
    verified_kek(db.role_conninfo(PAYMENTS.role))  # its mapper seals with that KEK
    env = application_env(PAYMENTS, db, pool_size=COMMAND_API_POOL)
    app = payments_commands.create_app(
        lambda: PaymentsService(env=env),
        TokenVerifier.from_settings(),
        ServiceTokens.from_settings("payments-api"),
    )
    serve_app(app, host, port)
