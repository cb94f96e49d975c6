"""Each context's application (its command service), built one way for every user:
provisioning, replay, audit and benchmarks."""

from __future__ import annotations

from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from domains.service import CommandService
from eventstore.contexts import ACCOUNTS, PAYMENTS, Context, application_env
from eventstore.settings import DatabaseSettings

APPLICATIONS: dict[str, type[CommandService]] = {
    ACCOUNTS.name: AccountsService,
    PAYMENTS.name: PaymentsService,
}


def open_command_service(
    context: Context,
    db: DatabaseSettings,
    pool_size: int = 1,
    snapshots: bool = False,
    create_table: bool = False,
    cached: bool = True,
) -> CommandService:
    """The context's application on `db`, as the context's role (close it when done);
    `snapshots` makes stored snapshots readable whatever the snapshot interval; without
    `cached` every load reconstructs the aggregate from the store."""
    env = application_env(context, db, pool_size=pool_size, create_table=create_table)
    if snapshots:
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
    if not cached:
        del env["AGGREGATE_CACHE_MAXSIZE"]
    return APPLICATIONS[context.name](env=env)
