"""`paystream bench ...`: measure this installation's throughput against running services."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from identity.settings import DEFAULT_ISSUER_DIR
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, CommandGroup
from scripts.cli.names import projection_named
from scripts.cli.token import IssuerDir

if TYPE_CHECKING:
    from scripts.benchmarks.gateway_stack import Mint

bench_app = CommandGroup(
    no_args_is_help=True,
    help=(
        "Measure throughput on this machine. Commands, payments, rebuilds, NATS publishing,"
        " the latency the gateway adds and its rate limits, what metrics and tracing cost;"
        " all but rebuilds, NATS publishing and observability (which start their own) need"
        " the services running (`paystream up`)."
    ),
)
Clients = Annotated[int, typer.Option(min=1, max=512, help="Concurrent clients.")]
Seconds = Annotated[float, typer.Option(min=1, max=600, help="How long to send requests.")]
CommandUrl = Annotated[str, typer.Option(help="The accounts command API.")]
SummaryUrl = Annotated[str, typer.Option(help="The account summary query API.")]
GatewayUrl = Annotated[str, typer.Option(help="The gateway's public port.")]
AdminUrl = Annotated[str, typer.Option(help="The gateway's admin interface (its limits).")]


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@contextmanager
def services_answering(
    hint: str = "are the services running (`paystream up`)?",
) -> Iterator[None]:
    """A service that does not answer, or answers with an error, ends the run one way."""
    import httpx

    from scripts.benchmarks.gateway_stack import UnexpectedAnswer

    try:
        yield
    except UnexpectedAnswer as error:
        raise CliError(str(error)) from None
    except httpx.HTTPError as error:
        raise CliError(f"{http_failure(error)}; {hint}") from None
    except TimeoutError as error:
        raise CliError(str(error)) from None


def http_failure(error: Exception) -> str:
    """What went wrong, by its kind when httpx says nothing more (a timeout), and where."""
    import httpx

    said = str(error) or type(error).__name__
    try:
        request = error.request if isinstance(error, httpx.RequestError) else None
    except RuntimeError:  # no request attached
        request = None
    return f"{said} ({request.method} {request.url})" if request is not None else said


@bench_app.command("commands")
def bench_commands(
    clients: Clients = 32,
    seconds: Seconds = 15.0,
    command_url: CommandUrl = "http://127.0.0.1:8001",
    query_url: SummaryUrl = "http://127.0.0.1:8002",
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """Commands per second at N clients. And how soon a query shows a command's effect.
    As a new customer, with a token from the development issuer's directory."""
    from scripts.benchmarks.commands import run_command_bench

    token = bench_customer(issuer_dir)
    with services_answering():
        run_command_bench(command_url, query_url, clients, seconds, Console(), token)


@bench_app.command("observability")
def bench_observability(
    clients: Clients = 32,
    seconds: Seconds = 15.0,
    rounds: Annotated[
        int, typer.Option(min=1, max=20, help="Times each configuration is run, alternating.")
    ] = 2,
) -> None:
    """What metrics and tracing cost the commands bench: on a stack of its own (embedded
    PostgreSQL and NATS, the accounts API, its relay, the account summary projector and
    query API), baseline, metrics on, tracing on (every request, spans discarded) and
    both, services restarted for each; one table."""
    from scripts.benchmarks.observability import Plan, run_observability_bench

    try:
        with services_answering("a service of the bench's own stack stopped answering"):
            run_observability_bench(Plan(clients, seconds, rounds), Console(), bench_customer)
    except KeyboardInterrupt:
        raise CliError("interrupted; everything the bench started is stopped", 130) from None


@bench_app.command("payments")
def bench_payments(
    clients: Clients = 32,
    seconds: Seconds = 15.0,
    command_url: CommandUrl = "http://127.0.0.1:8001",
    payments_url: Annotated[str, typer.Option(help="The payments command API.")] = (
        "http://127.0.0.1:8011"
    ),
    query_url: Annotated[str, typer.Option(help="The payments query API.")] = (
        "http://127.0.0.1:8004"
    ),
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """Payments completed per second, end to end, at N clients. As a new customer, with a
    token from the development issuer's directory."""
    from scripts.benchmarks.payments import bench_payments as run

    token = bench_customer(issuer_dir)
    with services_answering():
        urls = (command_url, payments_url, query_url)
        asyncio.run(run(*urls, clients, seconds, Console(), token))


@bench_app.command("rebuild")
def bench_rebuild(
    projection: Annotated[str, typer.Option(help="The read model to rebuild.")] = (
        "account_summary"
    ),
    prefill: Annotated[
        int, typer.Option(min=0, max=10_000_000, help="Deposit events to write first.")
    ] = 0,
) -> None:
    """How fast a rebuild applies history. Beside a raw scan of the same events
    (DATABASE_URL)."""
    from scripts.benchmarks.rebuild import run_rebuild_bench

    chosen = projection_named(projection)
    run_rebuild_bench(chosen, reachable_database(chosen.role()), prefill, Console())


@bench_app.command("nats-sync")
def bench_nats_sync(
    messages: Annotated[
        int, typer.Option(min=100, max=1_000_000, help="Messages published per setting.")
    ] = 20_000,
    nodes: Annotated[int, typer.Option(min=1, max=5, help="NATS servers in the cluster.")] = 1,
) -> None:
    """JetStream publish rate, syncing to disk every 2 min vs always. The server's default
    syncs every 2 minutes, ours before every acknowledgement; fresh embedded servers."""
    from scripts.benchmarks.nats_sync import run_nats_sync_bench

    run_nats_sync_bench(messages, nodes, Console())


def customer_tokens(issuer_dir: Path) -> Mint:
    """Customer tokens from the development issuer's directory (as `paystream token`)."""
    from identity.issuer_directory import IssuerDirectory
    from identity.minting import TokenMinter
    from identity.roles import CUSTOMER
    from identity.settings import OidcSettings
    from scripts.cli.token import development_issuer

    directory = IssuerDirectory(issuer_dir)
    minter = TokenMinter(directory.keyring, development_issuer(directory))
    audience = OidcSettings().oidc_audience
    return lambda subject: minter.mint(subject, [CUSTOMER], 3600, audience)


def bench_customer(issuer_dir: Path) -> str:
    """A token for a customer no one was before (its own rate-limit bucket, its own
    accounts)."""
    from scripts.benchmarks.gateway_stack import unique_subject

    return customer_tokens(issuer_dir)(unique_subject("bench"))


@bench_app.command("gateway")
def bench_gateway(
    requests: Annotated[
        int, typer.Option(min=1, max=100_000, help="Measured requests per kind and path.")
    ] = 500,
    warmup: Annotated[
        int, typer.Option(min=0, max=10_000, help="Requests per kind and path discarded first.")
    ] = 50,
    command_url: CommandUrl = "http://127.0.0.1:8001",
    query_url: SummaryUrl = "http://127.0.0.1:8002",
    gateway_url: GatewayUrl = "http://127.0.0.1:8000",
    admin_url: AdminUrl = "http://127.0.0.1:9901",
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """The latency the gateway adds: the same reads and deposits, straight to the service
    and through Envoy, alternating; p50/p90/p99/max of each and the difference."""
    from scripts.benchmarks.gateway_latency import Plan, run_gateway_bench
    from scripts.benchmarks.gateway_stack import StackUrls

    mint = customer_tokens(issuer_dir)
    given = (command_url, query_url, gateway_url, admin_url)
    urls = StackUrls(*(url.rstrip("/") for url in given))
    with services_answering():
        run_gateway_bench(urls, mint, Plan(requests, warmup), Console())


@bench_app.command("rate-limit")
def bench_rate_limit(
    seconds: Annotated[
        float, typer.Option(min=0.5, max=120, help="How long to send requests.")
    ] = 5.0,
    gateway_url: GatewayUrl = "http://127.0.0.1:8000",
    admin_url: AdminUrl = "http://127.0.0.1:9901",
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """The gateway's rate-limit accuracy: a fresh subject as fast as it can; admitted
    against the configured burst + rate x time, and how the 429s are answered."""
    from scripts.benchmarks.rate_limit import run_rate_limit_bench

    mint = customer_tokens(issuer_dir)
    gateway, admin = gateway_url.rstrip("/"), admin_url.rstrip("/")
    with services_answering():
        run_rate_limit_bench(gateway, admin, mint, seconds, Console())
