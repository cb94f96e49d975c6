"""A real PostgreSQL and a real nats-server for tests, from the same wheels as `up`."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import psycopg
from nats.js.errors import NotFoundError
from psycopg.conninfo import make_conninfo

from eventstore import chain_check
from eventstore.contexts import Context
from eventstore.personal_data.kek_providers import file_kek
from eventstore.settings import DatabaseSettings, nats_servers
from gateway.clusters import HealthCheck
from gateway.envoy_config import bootstrap, public_services
from gateway.layouts import local_config, oidc_issuer
from gateway.rate_limits import RateLimits
from identity.clients import Client
from identity.issuer_directory import IssuerDirectory
from identity.minting import TokenMinter
from identity.settings import DEFAULT_AUDIENCE
from scripts.devstack.embedded import EmbeddedNats, EmbeddedNatsCluster, free_port
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from scripts.devstack.identity_env import identity_env, prepare_issuer
from scripts.devstack.services import ALL_SPECS, BENCH_HELLO, CONSOLE, needs_issuer
from scripts.devstack.supervisor import ServiceProcess, service_env
from scripts.provision import provision

SPECS = {**ALL_SPECS, BENCH_HELLO.name: BENCH_HELLO, CONSOLE.name: CONSOLE}
# The account overview's wait per part on the e2e system: a query API waiting on a
# consistency token can take longer than the 1.5 s default on a loaded 2-core CI machine,
# and the README session asserts no part is missing.
OVERVIEW_DEADLINE_VARIABLE = "PAYSTREAM_OVERVIEW_DEADLINE_SECONDS"
E2E_OVERVIEW_DEADLINE_SECONDS = 10.0
UPSTREAM_ENV = {
    "issuer": "OIDC_ISSUER",
    "accounts-api": "PAYSTREAM_ACCOUNTS_API_URL",
    "account-summary-query-api": "PAYSTREAM_ACCOUNT_SUMMARY_QUERY_URL",
    "account-statement-query-api": "PAYSTREAM_ACCOUNT_STATEMENT_QUERY_URL",
    "payments-query-api": "PAYSTREAM_PAYMENTS_QUERY_URL",
    "notifications-query-api": "PAYSTREAM_NOTIFICATIONS_QUERY_URL",
}
# Where clients read what a command created (the Location of its answer).
PUBLIC_ENV = {
    "account-summary-query-api": "PAYSTREAM_PUBLIC_ACCOUNT_SUMMARY_QUERY_URL",
    "payments-query-api": "PAYSTREAM_PUBLIC_PAYMENTS_QUERY_URL",
}


@dataclass(frozen=True)
class RawMessage:
    """One JetStream message as the stream stores it."""

    data: bytes
    headers: dict[str, str]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds; fail naming `what` past the deadline (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class StackGateway:
    """Envoy in front of a stack's APIs, and the processes of each (its replicas)."""

    envoy: EmbeddedEnvoy
    processes: dict[str, list[ServiceProcess]]

    @property
    def url(self) -> str:
        return self.envoy.url


@dataclass
class Stack:
    """One isolated system: its own database on the shared server, its own NATS server
    (or cluster, whose streams have `stream_replicas` replicas)."""

    database_url: str
    nats: EmbeddedNats | EmbeddedNatsCluster
    work_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)
    # Services others call over HTTP keep one port per stack, so a restart keeps its URL.
    upstream_ports: dict[str, int] = field(
        default_factory=lambda: {name: free_port() for name in UPSTREAM_ENV}
    )
    stream_replicas: int | None = None
    # More environment for every service started from now on (the e2e suite's OTEL_*).
    extra_env: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Client] | None = field(default=None, init=False, repr=False)

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.upstream_ports[name]}"

    @property
    def nats_url(self) -> str:
        return self.nats.url

    @property
    def db(self) -> DatabaseSettings:
        return DatabaseSettings(database_url=self.database_url)

    @property
    def kek_dir(self) -> Path:
        """Where the stack's key-encryption key file is (PAYSTREAM_KEK_DIR of its services)."""
        return self.work_dir / "keys"

    @property
    def issuer_dir(self) -> Path:
        return self.work_dir / "issuer"

    @property
    def clients(self) -> dict[str, Client]:
        """The development issuer's clients (its directory prepared on first use)."""
        if self._clients is None:
            self._clients = prepare_issuer(self.issuer_dir, self.url_of("issuer"))
        return self._clients

    def token(self, subject: str = "alice", *roles: str, ttl: int = 3600) -> str:
        """A bearer token for `subject` (a customer unless `roles` say otherwise)."""
        minter = TokenMinter(IssuerDirectory(self.issuer_dir).keyring, self.url_of("issuer"))
        return minter.mint(subject, roles or ("customer",), ttl, DEFAULT_AUDIENCE)

    def auth(self, subject: str = "alice", *roles: str) -> dict[str, str]:
        """The Authorization header of `token(subject, *roles)`."""
        return {"Authorization": f"Bearer {self.token(subject, *roles)}"}

    def start(
        self,
        name: str,
        *,
        wait: bool = True,
        port: int | None = None,
        replica: int = 1,
        env: dict[str, str] | None = None,
    ) -> ServiceProcess:
        """Start one service (by its name in scripts/devstack/services.py), until ready
        unless `wait` is false; the development issuer first, once, if it needs one.
        A further `replica` of a service takes `port` (a free one by default); `env` is
        more environment for this process alone."""
        spec = SPECS[name]
        if needs_issuer(spec) and not any(p.spec.name == "issuer" for p in self.processes):
            self.start("issuer")
        environment = service_env(self.database_url, self.nats_url, self.stream_replicas)
        environment.update(
            {variable: self.url_of(upstream) for upstream, variable in UPSTREAM_ENV.items()}
        )
        environment.update(
            {variable: self.url_of(service) for service, variable in PUBLIC_ENV.items()}
        )
        environment.update(identity_env(name, self.issuer_dir, self.url_of("issuer"), self.clients))
        environment["PAYSTREAM_KEK_DIR"] = str(self.kek_dir)
        environment.update(self.extra_env)
        environment.update(env or {})
        port = port or (replica == 1 and self.upstream_ports.get(name)) or free_port()
        process = ServiceProcess(spec, port, environment, self.work_dir / "logs", replica=replica)
        process.start()
        self.processes.append(process)
        if wait:
            process.wait_ready()
        return process

    def start_all(self, names: tuple[str, ...]) -> None:
        """Start the services named, all at once, and wait until each is ready."""
        for process in [self.start(name, wait=False) for name in names]:
            process.wait_ready()

    @contextmanager
    def gateway(
        self,
        replicas: Mapping[str, int] | None = None,
        rate_limits: RateLimits | None = None,
        health_check: HealthCheck | None = None,
        bench_hello: bool = False,
        console_port: int | None = None,
        port: int | None = None,
    ) -> Iterator[StackGateway]:
        """Envoy in front of the stack's running APIs, trusting its issuer; `replicas`
        processes of a service (those past its first started here, stopped after); with
        `bench_hello`, `paystream up --bench`'s hello-world service (started here) routed;
        /console to the console at `console_port` when given; on `port` when given."""
        added = [
            self.start(name, wait=False, replica=replica)
            for name, count in (replicas or {}).items()
            for replica in range(2, count + 1)
        ]
        if bench_hello:
            added.append(self.start(BENCH_HELLO.name, wait=False, port=free_port()))
        for process in added:
            process.wait_ready()
        running = {name: [p for p in self.processes if p.spec.name == name] for name in SPECS}
        ports = {
            name: list(dict.fromkeys(p.port for p in found)) for name, found in running.items()
        }
        issuer = oidc_issuer(self.url_of("issuer"))
        port = port or free_port()
        config = local_config(
            port,
            free_port(),
            issuer,
            {name: ports[name] for name in public_services() if ports[name]},
            rate_limits,
            health_check,
            bench_hello_port=added[-1].port if bench_hello else None,
            console_port=console_port,
        )
        envoy = EmbeddedEnvoy(self.work_dir / f"gateway-{port}", bootstrap(config))
        try:
            envoy.start()
            yield StackGateway(envoy, running)
        finally:
            envoy.stop()
            for process in added:
                process.stop()
                self.processes.remove(process)

    def latest(self, name: str) -> ServiceProcess:
        """The service's most recently started process (a restart appends a new one)."""
        return next(p for p in reversed(self.processes) if p.spec.name == name)

    def url(self, name: str) -> str:
        """Where the service's latest process answers."""
        return self.latest(name).url

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url, autocommit=True)

    def max_position(self, context: Context) -> int:
        with self.admin() as conn:
            return chain_check.max_position(conn, context)

    def positions(self, context: Context) -> list[int]:
        """Every stored position of the context's events, in order."""
        with self.admin() as conn:
            rows = conn.execute(
                f"SELECT notification_id FROM {context.schema}.{context.events_table}"
                " ORDER BY notification_id"
            ).fetchall()
        return [int(row[0]) for row in rows]

    def event_count(self, context: Context) -> int:
        with self.admin() as conn:
            row = conn.execute(
                f"SELECT COUNT(*) FROM {context.schema}.{context.events_table}"
            ).fetchone()
        return int(row[0]) if row else 0

    def stream_positions(self, context: Context) -> list[int]:
        """Every position header in the context's stream, in stream order."""
        return [
            int(message.headers["Paystream-Position"]) for message in self.stream_messages(context)
        ]

    def stream_messages(self, context: Context) -> list[RawMessage]:
        """Every message the context's stream holds, as stored, in sequence order."""
        return asyncio.run(_stream_messages(self.nats_url, context))

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


@contextmanager
def provisioned_stack(server_admin_url: str, work_dir: Path, name: str) -> Iterator[Stack]:
    """A fresh nats-server and a database called after `name` on the server, provisioned;
    every service started on it and the nats-server stopped afterwards."""
    nats_server = EmbeddedNats(work_dir / "nats", free_port())
    nats_server.start()
    stack = Stack(database_url_for(server_admin_url, name), nats_server, work_dir)
    try:
        with sealing_like(stack):
            provision(stack.db, nats_server.url, kek=file_kek(stack.kek_dir, "local", create=True))
            yield stack
    finally:
        stack.stop_all()
        nats_server.stop()


@contextmanager
def sealing_like(stack: Stack) -> Iterator[None]:
    """Applications the tests build in this process seal with the stack's KEK too."""
    outer_kek_dir = os.environ.get("PAYSTREAM_KEK_DIR")
    os.environ["PAYSTREAM_KEK_DIR"] = str(stack.kek_dir)
    try:
        yield
    finally:
        if outer_kek_dir is None:
            os.environ.pop("PAYSTREAM_KEK_DIR", None)
        else:
            os.environ["PAYSTREAM_KEK_DIR"] = outer_kek_dir


def database_url_for(server_url: str, name: str) -> str:
    dbname = "t_" + re.sub(r"[^a-z0-9_]", "_", name.lower())[-50:]
    return make_conninfo(server_url, dbname=dbname)


async def _stream_messages(nats_url: str, context: Context) -> list[RawMessage]:
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        info = await js.stream_info(context.stream)
        messages: list[RawMessage] = []
        if not info.state.messages:
            return messages
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                message = await js.get_msg(context.stream, seq=seq)
            except NotFoundError:
                continue  # deleted from the stream
            messages.append(RawMessage(message.data or b"", dict(message.headers or {})))
        return messages
    finally:
        await nc.close()
