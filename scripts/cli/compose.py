"""`paystream compose layout`: the services compose.yaml's console watches, as JSON,
generated from the service list (deploy/console/services.json is its output)."""

from __future__ import annotations

import json

import typer

from scripts.cli.errors import CommandGroup

compose_app = CommandGroup(no_args_is_help=True, help="Files compose.yaml reads, generated.")


def register(app: typer.Typer) -> None:
    app.add_typer(compose_app, name="compose")


@compose_app.command()
def layout() -> None:
    """Print the console's services.json for compose.yaml (each service by its DNS name)."""
    from scripts.devstack.layout import compose_layout

    typer.echo(json.dumps(compose_layout(), indent=2))
