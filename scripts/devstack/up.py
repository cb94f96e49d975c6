"""`paystream up`: the whole system on this machine, stopped cleanly by Ctrl-C; every
service's log lines shown as they come (scripts/devstack/log_follower.py)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

from rich.console import Console
from rich.table import Table

from eventstore.personal_data.kek_providers import KekSettings, configured_kek
from eventstore.settings import DatabaseSettings
from identity.settings import DEV_ISSUER_URL
from scripts.devstack.console_env import SIGN_IN_HINT, behind_gateway, console_env
from scripts.devstack.embedded import EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from scripts.devstack.gateway import gateway_ports, up_gateway
from scripts.devstack.identity_env import identity_env, prepare_issuer
from scripts.devstack.log_follower import LogFollower
from scripts.devstack.replicas import replica_ports
from scripts.devstack.services import BENCH_HELLO, CONSOLE, SERVICES
from scripts.devstack.supervisor import ServiceProcess, service_env
from scripts.provision import provision

DEFAULT_PG_PORT = 54329
DEFAULT_NATS_PORT = 54222
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


def up_kek_settings(data_dir: Path) -> KekSettings:
    """The KEK's settings: a key file in `<data_dir>/keys` unless PAYSTREAM_KEK_DIR says
    where (the env provider ignores the directory)."""
    if "PAYSTREAM_KEK_DIR" in os.environ:
        return KekSettings()
    return KekSettings(kek_dir=data_dir / "keys")


def layout_file(data_dir: Path) -> Path:
    """Where `up` records what it started, the gateway first: each one's URL and the URL
    that answers 200 once it is ready (read by `status`)."""
    return data_dir / "services.json"


class Supervised(Protocol):
    """A process `up` keeps running: a service, or the gateway."""

    @property
    def name(self) -> str: ...

    def exited(self) -> bool: ...

    def start(self) -> object: ...

    def log_tail(self, lines: int = 20) -> str: ...


Server = EmbeddedPostgres | EmbeddedNats | EmbeddedNatsCluster


def run_up(
    data_dir: Path,
    console: Console,
    nats_nodes: int = 1,
    api_replicas: Mapping[str, int] | None = None,
    bench: bool = False,
) -> None:
    """Start infrastructure (unless external), provision, start services, then the gateway
    in front of them; wait for Ctrl-C.

    With `nats_nodes` > 1 the embedded NATS is a JetStream cluster of that many servers,
    and streams get one replica per node. `api_replicas` runs that many processes of an API.
    `bench`: the gateway without rate limits, and the bench's hello-world service behind it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    infrastructure: list[Server] = []
    services: list[ServiceProcess] = []
    gateway: EmbeddedEnvoy | None = None
    follower: LogFollower | None = None
    try:
        database_url, nats_url = _infrastructure(data_dir, console, infrastructure, nats_nodes)
        clustered = any(isinstance(server, EmbeddedNatsCluster) for server in infrastructure)
        replicas = nats_nodes if clustered else None
        with console.status("Creating database roles, schemas, tables and streams..."):
            kek_settings = up_kek_settings(data_dir)
            kek = configured_kek(kek_settings, create=True)
            provision(DatabaseSettings(database_url=database_url), nats_url, replicas, kek)
        env = service_env(database_url, nats_url, replicas)
        env["PAYSTREAM_KEK_DIR"] = str(kek_settings.kek_dir)
        issuer_dir, issuer_url = data_dir / "issuer", DEV_ISSUER_URL
        clients = prepare_issuer(issuer_dir, issuer_url)
        reserved = (*gateway_ports(), BENCH_HELLO.port, CONSOLE.port)
        ports = replica_ports(api_replicas or {}, reserved=reserved)
        specs = [*SERVICES, CONSOLE]
        ports[CONSOLE.name] = [CONSOLE.port]
        public_console = behind_gateway(f"http://127.0.0.1:{gateway_ports()[0]}")
        env_of = {CONSOLE.name: console_env(CONSOLE.port, issuer_dir, data_dir, public_console)}
        if bench:  # beside the system, never one of its services
            specs.append(BENCH_HELLO)
            ports[BENCH_HELLO.name] = [BENCH_HELLO.port]
        services = [
            ServiceProcess(
                spec,
                port,
                env
                | identity_env(spec.name, issuer_dir, issuer_url, clients)
                | env_of.get(spec.name, {}),
                data_dir / "logs",
                replica=replica,
            )
            for spec in specs
            for replica, port in enumerate(ports[spec.name], start=1)
        ]
        follower = LogFollower(console, {s.name: [s.log_file, s.output_file] for s in services})
        follower.start()
        _start_services(services, console, stop)
        if stop.is_set():
            return
        gateway = up_gateway(data_dir / "gateway", ports, bench)
        with console.status(f"Starting the gateway (Envoy) on {gateway.url}..."):
            gateway.start()
        print_urls(services, console, database_url, nats_url, gateway.url, bench)
        layout = {gateway.name: {"url": gateway.url, "ready": gateway.ready_url}} | {
            s.name: {"url": s.url, "ready": f"{s.url}/readyz"} for s in services
        }
        layout_file(data_dir).write_text(json.dumps(layout, indent=2))
        _supervise([gateway, *services], console, stop)
    finally:
        console.print("Stopping...")
        if gateway is not None:
            gateway.stop()
        for service in reversed(services):
            service.stop()
        if follower is not None:
            follower.stop()
        for server in reversed(infrastructure):
            server.stop()
        layout_file(data_dir).unlink(missing_ok=True)
        console.print("Stopped; no process left behind.")


def _infrastructure(
    data_dir: Path, console: Console, started: list[Server], nats_nodes: int
) -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    nats_url = os.environ.get("NATS_URL", "")
    if not database_url:
        port = int(os.environ.get("PAYSTREAM_PG_PORT", DEFAULT_PG_PORT))
        postgres = EmbeddedPostgres(data_dir / "postgres", port)
        started.append(postgres)
        with console.status(f"Starting PostgreSQL on 127.0.0.1:{port}..."):
            database_url = postgres.start()
    if nats_url:
        if nats_nodes > 1:
            console.print("[yellow]NATS_URL is set: --nats-cluster is ignored[/yellow]")
        return database_url, nats_url
    port = int(os.environ.get("PAYSTREAM_NATS_PORT", DEFAULT_NATS_PORT))
    nats_server: EmbeddedNats | EmbeddedNatsCluster
    if nats_nodes > 1:
        ports = [port + i for i in range(nats_nodes)]
        nats_server = EmbeddedNatsCluster(data_dir, ports)
        what = f"a {nats_nodes}-node NATS JetStream cluster on 127.0.0.1:{ports[0]}-{ports[-1]}"
    else:
        nats_server = EmbeddedNats(data_dir / "nats", port)
        what = f"NATS JetStream on 127.0.0.1:{port}"
    started.append(nats_server)
    with console.status(f"Starting {what}..."):
        nats_url = nats_server.start()
    return database_url, nats_url


def _start_services(
    services: list[ServiceProcess], console: Console, stop: threading.Event
) -> None:
    for service in services:
        service.start()
    for service in services:
        with console.status(f"Waiting for {service.name} to be ready..."):
            service.wait_ready()
        console.print(f"[green]ready[/green] {service.name}")
        if stop.is_set():
            return


def print_urls(
    services: list[ServiceProcess],
    console: Console,
    database_url: str,
    nats_url: str,
    gateway_url: str,
    bench: bool = False,
) -> None:
    """The gateway first, the services' URLs as a table; the servers' as shell lines to
    copy whole, never cut to the terminal's width (operator commands read them from the
    environment)."""
    table = Table(title="Paystream is up")
    table.add_column("service", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    table.add_row("gateway", gateway_url, style="bold")
    for service in services:
        table.add_row(service.name, service.url)
    console.print(table)
    lines: tuple[str, ...] = (
        f"gateway {gateway_url}  (the one public entry; every request needs a token)",
        "Get a bearer token from the development issuer, then open an account:",
        "  TOKEN=$(.venv/bin/paystream token --subject alice)",
        f'  curl -H "Authorization: Bearer $TOKEN" -X POST {gateway_url}/accounts'
        ' -H \'Content-Type: application/json\' -d \'{"owner": "Alice", "currency": "EUR"}\'',
    )
    if any(service.name == CONSOLE.name for service in services):
        lines += (f"console {behind_gateway(gateway_url)}/  ({SIGN_IN_HINT})",)
    if bench:
        lines += (
            f"bench mode: no rate limits; GET {gateway_url}/bench/hello is the hello-world"
            " baseline of `paystream bench suite`",
        )
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    console.print("For operator commands (paystream status, rebuild, audit...), in your shell:")
    for line in (f"export DATABASE_URL={database_url}", f"export NATS_URL={nats_url}"):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    console.print("Press Ctrl-C to stop everything.")


def _supervise(services: Sequence[Supervised], console: Console, stop: threading.Event) -> None:
    """Restart a service (or the gateway) that dies, until Ctrl-C or SIGTERM; one that
    dies more than MAX_RESTARTS times within RESTART_WINDOW_SECONDS is crash-looping:
    stop everything."""
    exits: dict[str, deque[float]] = {s.name: deque() for s in services}
    while not stop.wait(0.5):
        for service in services:
            if not service.exited():
                continue
            recent, now = exits[service.name], time.monotonic()
            recent.append(now)
            while now - recent[0] > RESTART_WINDOW_SECONDS:
                recent.popleft()
            if len(recent) > MAX_RESTARTS:
                console.print(
                    f"[red]{service.name} exited {len(recent)} times within"
                    f" {RESTART_WINDOW_SECONDS:.0f}s; stopping.[/red]"
                )
                console.print(service.log_tail())
                return
            console.print(f"[yellow]{service.name} exited; restarting[/yellow]")
            try:
                service.start()
            except (OSError, RuntimeError, TimeoutError) as error:  # the gateway waits ready
                console.print(f"[red]{service.name} did not start again: {error}[/red]")
