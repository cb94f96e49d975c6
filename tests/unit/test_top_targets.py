"""What `paystream top` and `paystream status` watch: the layout `paystream up` records,
in either format (a URL per process, or its URL and readiness URL), else the default
ports."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scripts.cli.errors import CANNOT_RUN
from scripts.cli.root import app
from scripts.devstack.gateway import gateway_ports
from scripts.devstack.layout import GATEWAY, Target, read_targets
from scripts.devstack.services import SERVICES


def test_without_a_layout_the_gateway_and_every_service_at_their_default_ports(
    tmp_path: Path,
) -> None:
    gateway, *services = read_targets(tmp_path)

    assert gateway == Target(GATEWAY, f"http://127.0.0.1:{gateway_ports()[1]}/ready", None)
    assert [target.name for target in services] == [spec.name for spec in SERVICES]
    accounts = next(target for target in services if target.name == "accounts-api")
    assert (accounts.ready_url, accounts.metrics_url) == (
        "http://127.0.0.1:8001/readyz",
        "http://127.0.0.1:8001/metrics",
    )


def test_a_layout_of_urls_or_of_urls_and_readiness_urls(tmp_path: Path) -> None:
    layout = {
        "gateway": {"url": "http://127.0.0.1:8000", "ready": "http://127.0.0.1:9901/ready"},
        "accounts-api-2": {"url": "http://127.0.0.1:8201", "ready": "http://127.0.0.1:8201/readyz"},
        "saga": "http://127.0.0.1:8112",
    }
    (tmp_path / "services.json").write_text(json.dumps(layout))

    assert read_targets(tmp_path) == [
        Target("gateway", "http://127.0.0.1:9901/ready", None),
        Target("accounts-api-2", "http://127.0.0.1:8201/readyz", "http://127.0.0.1:8201/metrics"),
        Target("saga", "http://127.0.0.1:8112/readyz", "http://127.0.0.1:8112/metrics"),
    ]


def test_status_answers_a_layout_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "services.json").write_text("not json")

    result = CliRunner().invoke(app, ["status", "--data-dir", str(tmp_path)])

    assert result.exit_code == CANNOT_RUN
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: cannot read the services' layout {tmp_path}")
