"""`paystream up` keeps its gateway like its services: a killed Envoy is started again,
and `paystream status` lists the gateway first, up or down (a real Envoy)."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from gateway.clusters import Upstream
from gateway.envoy_config import GatewayConfig, bootstrap, public_services
from gateway.tokens import JwtIssuer
from scripts.devstack.embedded import free_port
from scripts.devstack.embedded_envoy import EmbeddedEnvoy
from scripts.devstack.status import run_status
from scripts.devstack.up import _supervise, layout_file
from tests.support.gateway import SigningKey, jwks_server
from tests.support.stack import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def envoy(tmp_path: Path) -> Iterator[EmbeddedEnvoy]:
    """A gateway in front of APIs that are not running (their health checks fail; Envoy
    itself is ready)."""
    with jwks_server(free_port(), SigningKey().jwks()) as jwks_uri:
        config = GatewayConfig(
            port=free_port(),
            admin_port=free_port(),
            upstreams={name: Upstream((("127.0.0.1", free_port()),)) for name in public_services()},
            issuer=JwtIssuer("http://issuer.test", ("paystream",), jwks_uri),
        )
        gateway = EmbeddedEnvoy(tmp_path / "gateway", bootstrap(config))
        gateway.start()
        try:
            yield gateway
        finally:
            gateway.stop()


def test_a_killed_gateway_is_started_again(envoy: EmbeddedEnvoy) -> None:
    assert envoy.process is not None
    killed = envoy.process.pid
    output, stop = io.StringIO(), threading.Event()
    console = Console(file=output, width=200)
    supervisor = threading.Thread(target=_supervise, args=([envoy], console, stop))
    supervisor.start()
    try:
        os.kill(killed, signal.SIGKILL)
        wait_until(
            lambda: envoy.process is not None and envoy.process.pid != killed and envoy.is_ready(),
            30,
            "the gateway to be started again and ready",
        )
    finally:
        stop.set()
        supervisor.join(30)
    assert "gateway exited; restarting" in output.getvalue()


def test_status_lists_the_gateway_first_up_then_down(envoy: EmbeddedEnvoy, tmp_path: Path) -> None:
    layout = {envoy.name: {"url": envoy.url, "ready": envoy.ready_url}}
    layout_file(tmp_path).write_text(json.dumps(layout))

    def status() -> tuple[int, list[str]]:
        output = io.StringIO()
        code = run_status(tmp_path, Console(file=output, width=200))
        rows = [line for line in output.getvalue().splitlines() if envoy.url in line]
        return code, rows

    code, [row] = status()
    assert code == 0 and "gateway" in row and row.rstrip(" │").endswith("up")
    envoy.stop()
    code, [row] = status()
    assert code == 1 and row.rstrip(" │").endswith("down")
