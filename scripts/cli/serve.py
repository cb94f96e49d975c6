"""`paystream serve <service>`: one service in the foreground (what compose.yaml runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.cli.errors import CliError

KNOWN = ("accounts-api", "payments-api", "query-api", "relay", "projector", "saga")
NEEDS_TARGET = ("relay", "projector", "query-api")


def serve(
    service: Annotated[str, typer.Argument(help=f"Which service: {', '.join(KNOWN)}.")],
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
    from scripts.composition import services
    from scripts.service_logs import configure_service_logging

    if service not in KNOWN:
        raise CliError(f"unknown service {service!r}; known: {', '.join(KNOWN)}")
    if service in NEEDS_TARGET and not target:
        raise CliError(f"`serve {service}` needs a target, e.g. `serve relay accounts`")
    configure_service_logging()
    try:
        if service == "accounts-api":
            services.serve_accounts_api(host, port)
        elif service == "payments-api":
            services.serve_payments_api(host, port)
        elif service == "saga":
            services.serve_saga(host, port)
        elif service == "relay":
            services.serve_relay(str(target), host, port)
        elif service == "query-api":
            services.serve_query_api(str(target), host, port)
        else:
            services.serve_projector(str(target), host, port, partition)
    except (KeyError, ValueError) as error:
        raise CliError(error.args[0] if error.args else str(error)) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
