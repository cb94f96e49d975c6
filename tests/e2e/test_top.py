"""`paystream top` against the running system (every service its own process): each
service up with its request rate, every projection live, the saga's breaker closed, and
no alarm (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projections.registry import PROJECTIONS
from tests.support.cli import paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_top_shows_the_running_system_live(
    stack: Stack, services: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "services.json").write_text(json.dumps(services))

    shown = paystream(
        stack.database_url, "top", "--data-dir", str(tmp_path), "--once", "--interval", "0.5"
    )

    assert shown.returncode == 0, shown.stdout
    lines = shown.stdout.splitlines()
    assert lines[1] == "no alarms"
    rows = {cells(line)[0]: cells(line) for line in lines if line.startswith("│ ")}
    for name in services:
        state, requests = rows[name][1:3]
        assert (state, requests.endswith("/s")) == ("up", True), rows[name]
    for projection in PROJECTIONS:
        assert rows[projection][-1] == "live", rows[projection]
    assert "accounts-api closed" in shown.stdout
