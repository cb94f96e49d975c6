"""`paystream serve <service>`: one service in the foreground (what compose.yaml runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.cli.errors import CliError, CommandGroup

KNOWN = (
    "accounts-api",
    "payments-api",
    "query-api",
    "overview-api",
    "relay",
    "projector",
    "saga",
    "issuer",
    "console",
    "bench-hello",
)
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
    from eventstore.metrics_switch import switch_metrics
    from eventstore.personal_data.kek import KekError
    from eventstore.settings import MetricsSettings
    from scripts.composition.tracing import start_tracing
    from scripts.devstack.services import service_name
    from scripts.service_logs import configure_service_logging

    if service not in KNOWN:
        raise CliError(f"unknown service {service!r}; known: {', '.join(KNOWN)}")
    if service in NEEDS_TARGET and not target:
        raise CliError(f"`serve {service}` needs a target, e.g. `serve relay accounts`")
    try:
        switch_metrics(MetricsSettings().enabled())  # before any app is built
    except ValueError as error:
        raise CliError(str(error)) from None
    configure_service_logging(service_name(service, target))
    # Each kind imports only what it serves: about half the CPU time in imports at start.
    try:
        start_tracing(service_name(service, target))  # before any app module is imported
        if service in ("accounts-api", "payments-api"):
            from scripts.composition import command_apis

            serve_api = command_apis.serve_accounts_api
            if service == "payments-api":
                serve_api = command_apis.serve_payments_api
            serve_api(host, port)
        elif service == "saga":
            from scripts.composition import saga

            saga.serve_saga(host, port)
        elif service == "issuer":
            from scripts.composition import issuer

            issuer.serve_issuer(host, port)
        elif service == "query-api":
            from scripts.composition import query_apis

            query_apis.serve_query_api(str(target), host, port)
        elif service == "bench-hello":  # `paystream up --bench` only
            from scripts.composition import query_apis

            query_apis.serve_bench_hello(host, port)
        elif service == "overview-api":
            from scripts.composition import overview_api

            overview_api.serve_overview_api(host, port)
        elif service == "console":
            from console.serving import serve_console

            serve_console(host, port)
        else:
            from scripts.composition import workers

            if service == "relay":
                workers.serve_relay(str(target), host, port)
            else:
                workers.serve_projector(str(target), host, port, partition)
    except KekError as error:  # a wrong or missing KEK: stopped at start, one line
        raise CliError(str(error)) from None
    except (KeyError, ValueError) as error:
        raise CliError(error.args[0] if error.args else str(error)) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)


def main() -> None:
    """`python -m scripts.cli.serve <service> ...`: `paystream serve` alone, without the
    other command groups' imports (the development stack and the tests start many
    services; each start then loads only what serving needs)."""
    app = CommandGroup(rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False)
    register(app)
    app(prog_name="paystream serve")


if __name__ == "__main__":
    main()
