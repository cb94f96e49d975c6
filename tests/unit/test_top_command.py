"""`paystream top` as a command: its bad input is one line and exit 2; a service that is
down, not ready or without metrics is shown as such (exit 1 with `--once`), never as a
traceback; alarms are drawn above everything else."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from scripts.cli.root import app
from scripts.devstack.embedded import free_port
from scripts.devstack.layout import service
from scripts.top import live
from scripts.top.frame import Frame
from scripts.top.projection_states import HALTED, ProjectionRow
from scripts.top.render import render
from scripts.top.saga_state import SagaState
from scripts.top.service_rates import ServiceRow
from tests.support.cli import refusal


def top(data_dir: Path, *args: str) -> Result:
    arguments = ["top", "--data-dir", str(data_dir), *args]
    return CliRunner().invoke(app, arguments, env={"COLUMNS": "160"}, prog_name="paystream")


def with_layout(data_dir: Path, layout: object) -> Path:
    data_dir.mkdir(exist_ok=True)
    (data_dir / "services.json").write_text(json.dumps(layout))
    return data_dir


class NotReadyWithoutMetrics(BaseHTTPRequestHandler):
    """A service whose /readyz names what it lacks and whose /metrics are not metrics;
    /draining answers 503 as Envoy's admin /ready does while draining (text), /odd
    with a JSON list."""

    ANSWERS: ClassVar[dict[str, tuple[int, str]]] = {
        "/readyz": (503, json.dumps({"missing": ["nats not connected"]})),
        "/draining": (503, "DRAINING"),
        "/odd": (503, json.dumps(["not", "an", "object"])),
    }

    def do_GET(self) -> None:
        status, body = self.ANSWERS.get(self.path, (200, "{not metrics"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unwell_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotReadyWithoutMetrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("interval", ["abc", "0", "61", "nan", "-1"])
def test_an_interval_out_of_bounds_is_one_line(tmp_path: Path, interval: str) -> None:
    line = refusal(top(tmp_path, "--once", "--interval", interval))

    assert line == f"error: --interval takes seconds from 0.1 to 60, not {interval!r}"


@pytest.mark.parametrize(
    "layout",
    [
        ["accounts-api"],
        {},
        {"accounts-api": 8001},
        {"accounts-api": "127.0.0.1:8001"},
        {"accounts-api": {"url": "http://127.0.0.1:8001"}},
    ],
    ids=["a-list", "empty", "a-port", "no-scheme", "no-ready-url"],
)
def test_a_layout_that_is_not_services_and_urls_is_one_line(tmp_path: Path, layout: object) -> None:
    line = refusal(top(with_layout(tmp_path, layout), "--once"))

    assert line.startswith(f"error: {tmp_path / 'services.json'} is not a layout of services")


def test_an_unreadable_layout_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "services.json").write_text("{half")
    (tmp_path / "directory" / "services.json").mkdir(parents=True)

    for data_dir in (tmp_path / "broken", tmp_path / "directory"):
        line = refusal(top(data_dir, "--once"))
        assert line.startswith(f"error: cannot read the services' layout {data_dir}"), line


def test_a_service_that_is_down_is_shown_down(tmp_path: Path) -> None:
    layout = {"accounts-api": f"http://127.0.0.1:{free_port()}"}  # nothing listens there

    result = top(with_layout(tmp_path, layout), "--once", "--interval", "0.1")

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "ALARM accounts-api down" in result.stdout
    assert "Traceback" not in result.output


def test_a_service_not_ready_and_without_metrics_says_so(
    tmp_path: Path, unwell_service: str
) -> None:
    result = top(with_layout(tmp_path, {"saga": unwell_service}), "--once", "--interval", "0.1")

    assert result.exit_code == 1, result.output
    assert "ALARM saga not ready: nats not connected, no metrics" in result.stdout


def test_alarms_are_drawn_above_the_services_projections_and_saga() -> None:
    shown = Frame(
        [ServiceRow("projector", "up", 0.0, 0.0, None, None)],
        [ProjectionRow("account_summary", "accounts", 40, 2, 0.5, HALTED)],
        SagaState(3, 0, {"accounts-api": "closed"}),
        ["projection account_summary (accounts) halted"],
    )
    console = Console(record=True, width=120, file=io.StringIO(), color_system="standard")

    console.print(render(shown, "heading"))

    text, styled = console.export_text(clear=False), console.export_text(styles=True)
    assert text.splitlines()[:2] == [
        "heading",
        "ALARM projection account_summary (accounts) halted",
    ]
    [row] = [line for line in text.splitlines() if "account_summary" in line and "│" in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["account_summary", "accounts", "40", "2", "0.5 s", "halted"]
    assert "\x1b[1;31mhalted" in styled  # bold red
    assert "accounts-api closed" in text


def test_live_view_refreshes_until_ctrl_c_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the wait between refreshes ends the view cleanly."""
    waits: list[float] = []

    def interrupted_on_the_second_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupted_on_the_second_wait)  # live.py's waits
    console = Console(record=True, width=120, file=io.StringIO())
    nothing_listens = service("accounts-api", f"http://127.0.0.1:{free_port()}")

    assert live.run_top([nothing_listens], console, 0.5, once=False) == 0

    assert waits == [0.5, 0.5]
    assert "ALARM accounts-api down" in console.export_text()


def test_the_gateway_of_a_layout_is_shown_by_its_readiness_alone(
    tmp_path: Path, unwell_service: str
) -> None:
    """`up` records each process's URL and readiness URL; the gateway's is Envoy's admin
    /ready, and its metrics are Envoy's own (not read)."""
    down = f"http://127.0.0.1:{free_port()}"
    layout = {
        "gateway": {"url": down, "ready": f"{unwell_service}/ready"},
        "accounts-api": {"url": down, "ready": f"{down}/readyz"},
    }

    result = top(with_layout(tmp_path, layout), "--once", "--interval", "0.1")

    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("ALARM")] == ["ALARM accounts-api down"]
    [gateway] = [line for line in lines if line.startswith("│ gateway ")]
    assert [cell.strip() for cell in gateway.split("│")[1:-1]] == ["gateway", "up", *"----"]


def test_a_readiness_answer_without_a_list_of_what_is_missing_shows_its_status(
    tmp_path: Path, unwell_service: str
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    layout = {
        "gateway": {"url": down, "ready": f"{unwell_service}/draining"},
        "odd": {"url": down, "ready": f"{unwell_service}/odd"},
    }

    result = top(with_layout(tmp_path, layout), "--once", "--interval", "0.1")

    alarms = [line for line in result.stdout.splitlines() if line.startswith("ALARM")]
    assert alarms == ["ALARM gateway not ready: HTTP 503", "ALARM odd not ready: HTTP 503"]
