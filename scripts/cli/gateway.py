"""`paystream gateway config`: the gateway's Envoy configuration, as JSON, generated from
the service list (compose.yaml's deploy/envoy.json is `--compose`'s output)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from scripts.cli.errors import CommandGroup

gateway_app = CommandGroup(no_args_is_help=True, help="The gateway (Envoy) in front of the APIs.")


def register(app: typer.Typer) -> None:
    app.add_typer(gateway_app, name="gateway")


@gateway_app.command()
def config(
    compose: Annotated[
        bool,
        typer.Option(
            "--compose",
            help="compose.yaml's layout (services by DNS name) instead of `paystream up`'s.",
        ),
    ] = False,
) -> None:
    """Print the Envoy bootstrap (JSON) for `paystream up` or for compose.yaml."""
    from gateway.envoy_config import bootstrap
    from gateway.layouts import compose_bootstrap
    from scripts.devstack.gateway import up_gateway_config

    document = compose_bootstrap() if compose else bootstrap(up_gateway_config({}))
    typer.echo(json.dumps(document, indent=2))
