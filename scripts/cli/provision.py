"""`paystream provision`: roles, schemas, tables and streams on external servers."""

from __future__ import annotations

import typer
from rich.console import Console

from eventstore.personal_data.kek import KekError
from eventstore.personal_data.kek_providers import configured_kek
from eventstore.settings import NatsSettings
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError


def provision() -> None:
    """Create roles, schemas, tables and streams. On DATABASE_URL and NATS_URL;
    running it again changes nothing."""
    from scripts.provision import provision as run_provision

    url = NatsSettings().url()  # every setting first, then the servers
    try:
        db = reachable_database()
        kek = configured_kek(create=True)
        run_provision(db, url, kek=kek)
    except KekError as error:
        raise CliError(str(error)) from None
    Console().print("provisioned")


def register(app: typer.Typer) -> None:
    app.command()(provision)
