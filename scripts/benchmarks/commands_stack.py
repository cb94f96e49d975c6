"""The small system `paystream bench observability` runs on, all under one directory on
free ports: embedded PostgreSQL and NATS JetStream as `paystream up` starts them,
provisioned, the development issuer (its keys and clients in `<dir>/issuer`), and what
`paystream bench commands` talks to: the accounts command API, the accounts relay, the
account_summary projector and the account summary query API, each its own process.

Those four are started and stopped together, each time with another environment; the
issuer, PostgreSQL and NATS run throughout. Whatever fails to start is one
UnexpectedAnswer naming it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from nats.errors import Error as NatsError
from rich.console import Console

from eventstore.personal_data.kek_providers import DEFAULT_FILE_KEK_ID, file_kek
from eventstore.settings import DatabaseSettings
from identity.clients import Client
from scripts.benchmarks.gateway_stack import UnexpectedAnswer
from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from scripts.devstack.identity_env import identity_env, prepare_issuer
from scripts.devstack.services import ALL_SPECS, SERVICES
from scripts.devstack.supervisor import ServiceProcess, service_env
from scripts.provision import provision

# Workers first: the APIs' readiness waits on the consumers being there.
BENCHED = (
    "relay-accounts",
    "projector-account-summary",
    "accounts-api",
    "account-summary-query-api",
)
COMMAND_API, QUERY_API = "accounts-api", "account-summary-query-api"
# The caller's own settings of what the configurations decide are never passed on.
DECIDED_PREFIXES = ("OTEL_", "PAYSTREAM_METRICS", "PAYSTREAM_SEAL_", "PAYSTREAM_KEK")
READY_SECONDS = 60.0
STARTING_ERRORS = (
    OSError,
    RuntimeError,
    TimeoutError,
    subprocess.CalledProcessError,
    psycopg.Error,
    NatsError,
)


@dataclass
class CommandsStack:
    """A running stack's settings and its four restartable services."""

    work_dir: Path
    base_env: dict[str, str]
    issuer_url: str
    clients: dict[str, Client]
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in BENCHED})
    running: list[ServiceProcess] = field(default_factory=list)

    @property
    def issuer_dir(self) -> Path:
        return self.work_dir / "issuer"

    @property
    def admin_url(self) -> str:
        return DatabaseSettings(database_url=self.base_env["DATABASE_URL"]).admin_conninfo()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start_services(self, env: dict[str, str]) -> None:
        """Start the four services with `env` added to their environment; return once
        each answers ready."""
        specs = ALL_SPECS
        for name in BENCHED:
            process = ServiceProcess(
                specs[name], self.ports[name], self.service_env(name) | env, self.work_dir / "logs"
            )
            process.start()
            self.running.append(process)
        for process in self.running:
            ready(process)

    def service_env(self, name: str) -> dict[str, str]:
        identity = identity_env(name, self.issuer_dir, self.issuer_url, self.clients)
        return self.base_env | identity

    def stop_services(self) -> None:
        """Stop the four at once (each is asked to stop, and killed if it does not)."""
        with ThreadPoolExecutor(len(BENCHED)) as stopping:
            list(stopping.map(ServiceProcess.stop, self.running))
        self.running.clear()


def ready(process: ServiceProcess) -> None:
    """Wait until `process` is ready, or fail in one sentence with its last log line."""
    try:
        process.wait_ready(READY_SECONDS)
    except (RuntimeError, TimeoutError) as error:
        first, *_ = str(error).splitlines()
        last = process.log_tail(1).splitlines()[-1:] or ["no log"]
        raise UnexpectedAnswer(f"{first.rstrip(':')}; its last log line: {last[0]}") from None


@contextmanager
def starting(what: str) -> Iterator[None]:
    try:
        yield
    except STARTING_ERRORS as error:
        raise UnexpectedAnswer(f"could not start {what}: {error}") from None


@contextmanager
def commands_stack(work_dir: Path, console: Console) -> Iterator[CommandsStack]:
    """The stack under `work_dir`, running for the block and stopped after it (on an
    error or Ctrl-C too): services, then the issuer, NATS, PostgreSQL."""
    with ExitStack() as started:
        postgres = EmbeddedPostgres(work_dir / "postgres", free_port())
        started.callback(postgres.stop)
        with console.status("Starting PostgreSQL..."), starting("PostgreSQL"):
            database_url = postgres.start()
        nats_server = EmbeddedNats(work_dir / "nats", free_port())
        started.callback(nats_server.stop)
        with console.status("Starting NATS JetStream..."), starting("NATS JetStream"):
            nats_url = nats_server.start()
        provisioning = console.status("Creating roles, schemas, tables and streams...")
        keys = work_dir / "keys"  # the KEK of this stack, not the working directory's
        with provisioning, starting("the database and streams"):
            kek = file_kek(keys, DEFAULT_FILE_KEK_ID, create=True)
            provision(DatabaseSettings(database_url=database_url), nats_url, kek=kek)
        base_env = {
            name: value
            for name, value in service_env(database_url, nats_url).items()
            if not name.startswith(DECIDED_PREFIXES)
        } | {"PAYSTREAM_KEK_DIR": str(keys), "PAYSTREAM_KEK_ID": DEFAULT_FILE_KEK_ID}
        issuer_port = free_port()
        issuer_url = f"http://127.0.0.1:{issuer_port}"
        clients = prepare_issuer(work_dir / "issuer", issuer_url)
        stack = CommandsStack(work_dir, base_env, issuer_url, clients)
        issuer_spec = next(spec for spec in SERVICES if spec.name == "issuer")
        issuer_env = stack.service_env("issuer") | {"PAYSTREAM_METRICS": "off"}
        issuer = ServiceProcess(issuer_spec, issuer_port, issuer_env, work_dir / "logs")
        started.callback(issuer.stop)
        with console.status("Starting the development issuer..."):
            with starting("the development issuer"):
                issuer.start()
            ready(issuer)
        started.callback(stack.stop_services)
        yield stack
