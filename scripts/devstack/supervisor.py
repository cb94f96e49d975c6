"""Start services as child processes, wait for /readyz, stop them cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.devstack.embedded import stop_process
from scripts.devstack.services import ServiceSpec


@dataclass
class ServiceProcess:
    """One service running as `python -m scripts.cli.serve ...` (`paystream serve ...`)."""

    spec: ServiceSpec
    port: int
    env: dict[str, str]
    log_dir: Path
    host: str = "127.0.0.1"
    replica: int = 1  # the replicas of one service after the first: 2, 3...
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The service's name, and the replica's number after the first (`accounts-api-2`)."""
        return self.spec.name if self.replica == 1 else f"{self.spec.name}-{self.replica}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        """The service's own log, size-capped and rotated by the service."""
        return self.log_dir / f"{self.name}.log"

    @property
    def output_file(self) -> Path:
        """What the process printed outside its log (a crash before logging started)."""
        return self.log_dir / f"{self.name}.out"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        output = self.output_file.open("ab")
        serve, *arguments = self.spec.command(self.port)  # `paystream serve ...`, served alone
        assert serve == "serve", self.spec
        command = [sys.executable, "-m", "scripts.cli.serve", *arguments]
        env = {**self.env, "PAYSTREAM_LOG_FILE": str(self.log_file)}
        self.process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def answers(self, path: str) -> bool:
        """Whether GET `path` answers 200 right now."""
        try:
            return httpx.get(f"{self.url}{path}", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def is_ready(self) -> bool:
        return self.answers("/readyz")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until /readyz answers 200; fail with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the service's log and of its other output."""
        tails = []
        for path in (self.log_file, self.output_file):
            if path.exists():
                tails += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(tails)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def service_env(
    database_url: str, nats_url: str, stream_replicas: int | None = None
) -> dict[str, str]:
    """The environment every service process starts with (replicas: when not inherited)."""
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url}
    if stream_replicas is not None:
        env["NATS_STREAM_REPLICAS"] = str(stream_replicas)
    return env
