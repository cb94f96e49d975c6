"""`paystream serve <service>`: one service in the foreground (what compose.yaml runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.cli.errors import CliError

KNOWN = "accounts-api, payments-api, query-api, relay, projector, saga"


def serve(
    service: Annotated[str, typer.Argument(help=f"Which service: {KNOWN}.")],
    target: Annotated[
        str | None,
        typer.Argument(help="The context of a relay, the read model of a projector or query-api."),
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    partition: Annotated[
        str | None, typer.Option(help="Projector only: i/N, this worker's share of aggregates.")
    ] = None,
) -> None:
    """Run one service in the foreground until SIGTERM or Ctrl-C."""
    from scripts.composition import services as composition
    from scripts.service_logs import configure_service_logging

    configure_service_logging()
    if service == "accounts-api":
        composition.serve_accounts_api(host, port)
    elif service == "payments-api":
        composition.serve_payments_api(host, port)
    elif service == "saga":
        composition.serve_saga(host, port)
    elif service in ("relay", "projector", "query-api"):
        if not target:
            raise CliError(f"`serve {service}` needs a target, e.g. `serve relay accounts`")
        try:
            if service == "relay":
                composition.serve_relay(target, host, port)
            elif service == "query-api":
                composition.serve_query_api(target, host, port)
            else:
                composition.serve_projector(target, host, port, partition)
        except (KeyError, ValueError) as error:
            raise CliError(error.args[0] if error.args else str(error)) from None
    else:
        raise CliError(f"unknown service {service!r}; known: {KNOWN}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
