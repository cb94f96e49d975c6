"""`paystream provision`: roles, schemas, tables and streams on external servers."""

from __future__ import annotations

import typer
from rich.console import Console

from eventstore.settings import NatsSettings
from scripts.cli.database import reachable_database


def provision() -> None:
    """Create roles, schemas, tables and streams. On DATABASE_URL and NATS_URL;
    running it again changes nothing."""
    from scripts.provision import provision as run_provision

    url = NatsSettings().url()  # every setting first, then the servers
    db = reachable_database()
    run_provision(db, url)
    Console().print("provisioned")


def register(app: typer.Typer) -> None:
    app.command()(provision)
