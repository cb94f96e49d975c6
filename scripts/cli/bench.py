"""`paystream bench ...`: measure this installation's throughput against running services."""

from __future__ import annotations

import asyncio
import os
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
    from scripts.benchmarks.observability import Configuration

bench_app = CommandGroup(
    no_args_is_help=True,
    help=(
        "Measure throughput on this machine. Every target at once (`suite`), or commands,"
        " payments, appends, rebuilds, aggregate loads, NATS publishing, the latency the"
        " gateway adds and its rate limits, what metrics, tracing and sealing cost; commands,"
        " payments, gateway, rate-limit and suite need the services running (`paystream up`)."
    ),
)
Clients = Annotated[int, typer.Option(min=1, max=512, help="Concurrent clients.")]
Seconds = Annotated[float, typer.Option(min=1, max=600, help="How long to send requests.")]
Rounds = Annotated[
    int, typer.Option(min=1, max=20, help="Times each configuration is run, alternating.")
]
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
def bench_observability(clients: Clients = 32, seconds: Seconds = 15.0, rounds: Rounds = 2) -> None:
    """What metrics and tracing cost the commands bench: on a stack of its own (embedded
    PostgreSQL and NATS, the accounts API, its relay, the account summary projector and
    query API), baseline, metrics on, tracing on (every request, spans discarded) and
    both, services restarted for each; one table."""
    from scripts.benchmarks.observability import CONFIGURATIONS

    run_configurations(clients, seconds, rounds, CONFIGURATIONS)


@bench_app.command("sealing")
def bench_sealing(clients: Clients = 32, seconds: Seconds = 15.0, rounds: Rounds = 2) -> None:
    """What sealing personal data costs the commands bench: on a stack of its own, as
    `bench observability`, owner names sealed (the default) and stored plaintext; one table."""
    from scripts.benchmarks.observability import SEALING_CONFIGURATIONS

    run_configurations(clients, seconds, rounds, SEALING_CONFIGURATIONS)


def run_configurations(
    clients: int, seconds: float, rounds: int, configurations: tuple[Configuration, ...]
) -> None:
    """The commands bench on a stack of its own, once per configuration and round."""
    from scripts.benchmarks.observability import Plan, run_observability_bench

    plan = Plan(clients, seconds, rounds)
    try:
        with services_answering("a service of the bench's own stack stopped answering"):
            run_observability_bench(plan, Console(), bench_customer, configurations)
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
    from scripts.benchmarks.payments import measure_payments, print_payments

    token = bench_customer(issuer_dir)
    console = Console()
    with services_answering():
        urls = (command_url, payments_url, query_url)
        figures = asyncio.run(measure_payments(*urls, clients, seconds, console, token))
    print_payments(figures, clients, seconds, console)


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


@bench_app.command("appends")
def bench_appends(
    writers: Annotated[int, typer.Option(min=1, max=256, help="Concurrent writers.")] = 64,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="How long each round of each recorder runs.")
    ] = 10.0,
    rounds: Annotated[
        int, typer.Option(min=1, max=20, help="Rounds; the recorders take turns.")
    ] = 2,
) -> None:
    """Appends per second in process at N writers: the eventsourcing library's stock
    recorder, Paystream's with each append committed alone, and with group commit
    (DATABASE_URL, an administrator's: it makes and drops schemas of its own)."""
    from scripts.benchmarks.appends import run_appends_bench

    run_appends_bench(reachable_database(), writers, seconds, rounds, Console())


@bench_app.command("aggregate-load")
def bench_aggregate_load(
    short: Annotated[int, typer.Option(min=2, max=1_000, help="Events of the short history.")] = 10,
    long: Annotated[
        int, typer.Option(min=2, max=1_000_000, help="Events of the long history.")
    ] = 10_000,
    loads: Annotated[int, typer.Option(min=1, max=100_000, help="Loads of each account.")] = 200,
) -> None:
    """Loading an account with a long history of completed payments beside one with a
    short history: median load of each and the ratio, in process (DATABASE_URL), with
    snapshots as the services take them. Writes the two accounts first."""
    from eventstore.contexts import ACCOUNTS
    from scripts.benchmarks.aggregate_load import run_aggregate_load_bench

    db = reachable_database(ACCOUNTS.role)
    run_aggregate_load_bench(db, short, long, loads, Console())


@bench_app.command("suite")
def bench_suite(
    data_dir: Annotated[
        Path, typer.Option(help="The running `paystream up`'s data directory.")
    ] = Path(".paystream"),
    gateway_url: GatewayUrl = "http://127.0.0.1:8000",
    admin_url: AdminUrl = "http://127.0.0.1:9901",
    clients: Annotated[int, typer.Option(min=1, max=512, help="Concurrent clients.")] = 64,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="How long each loaded part runs.")
    ] = 15.0,
    idle_seconds: Annotated[
        float, typer.Option(min=1, max=600, help="How long the idle stack is watched.")
    ] = 10.0,
    backlog: Annotated[
        int,
        typer.Option(min=100, max=1_000_000, help="Events the relay and a projector catch up on."),
    ] = 20_000,
    long_history: Annotated[
        int,
        typer.Option(
            min=20, max=1_000_000, help="Events of the long account loaded beside one of 10."
        ),
    ] = 10_000,
    rounds: Annotated[
        int, typer.Option(min=1, max=20, help="Rounds of the in-process appends.")
    ] = 2,
    soak: Annotated[
        bool, typer.Option("--soak", help="End with a soak: half the full rate, watching memory.")
    ] = False,
    soak_minutes: Annotated[
        float, typer.Option(min=0.1, max=24 * 60, help="How long the soak runs.")
    ] = 10.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="The figures as JSON, for machines.")
    ] = False,
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """Every performance figure and its baseline in one run, on the servers of a running
    `paystream up --bench` (DATABASE_URL, an administrator's), with pass or fail per
    target."""
    import json
    from dataclasses import replace

    from eventstore.settings import NatsSettings
    from scripts.benchmarks.stack_usage import stack_processes
    from scripts.benchmarks.suite import Plan, as_json, figures, report, run_suite

    if not stack_processes(data_dir):
        raise CliError(f"no process of a running `paystream up` uses {data_dir}; start one")
    use_stack_kek(data_dir)
    db = reachable_database()
    NatsSettings().url()  # the relay's baseline publishes there: set, or one line now
    token = bench_customer(issuer_dir)
    plan = Plan(gateway_url.rstrip("/"), data_dir, clients, seconds, idle_seconds)
    plan = replace(
        plan,
        backlog=backlog,
        long_history=long_history,
        rounds=rounds,
        soak_minutes=soak_minutes if soak else 0.0,
    )
    console = Console(stderr=json_output)
    with services_answering():
        refuse_stack_without_bench(plan.gateway_url, admin_url.rstrip("/"), token)
        measured = run_suite(plan, db, token, console)
    found = figures(plan, measured)
    if json_output:
        print(json.dumps(as_json(found, measured), indent=2))
    else:
        report(console, found, measured)


def use_stack_kek(data_dir: Path) -> None:
    """The suite's own writes (backlogs, long histories) seal personal fields under the
    running stack's key-encryption key: `paystream up`'s (`<data_dir>/keys`), unless
    PAYSTREAM_KEK_DIR says where."""
    from scripts.devstack.up import up_kek_settings

    os.environ["PAYSTREAM_KEK_DIR"] = str(up_kek_settings(data_dir).kek_dir)


def refuse_stack_without_bench(gateway_url: str, admin_url: str, token: str) -> None:
    """The suite needs `paystream up --bench`: its clients share one address, so a gateway
    limiting it would measure its limit, not Paystream; and the query GET figure's
    baseline is the bench's hello-world route."""
    import httpx

    from scripts.benchmarks.gateway_stack import configured_limits, rate
    from scripts.benchmarks.query_gets import NoBenchHello, check_bench_hello
    from scripts.devstack.gateway import UNLIMITED

    start = "start the stack with `paystream up --bench`"
    with httpx.Client() as http:
        limits = configured_limits(http, admin_url)
    if rate(limits.client_ip) < rate(UNLIMITED) or rate(limits.subject) < rate(UNLIMITED):
        raise CliError(
            f"the gateway admits {rate(limits.client_ip):,.0f} requests/s per address and"
            f" {rate(limits.subject):,.0f} per subject, which the suite would measure; {start}"
        )

    async def hello() -> None:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
            await check_bench_hello(client, gateway_url)

    try:
        asyncio.run(hello())
    except NoBenchHello as error:
        raise CliError(f"{error}, the query GET figure's baseline; {start}") from None
