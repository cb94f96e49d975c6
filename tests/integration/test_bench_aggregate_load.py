"""`paystream bench aggregate-load`, briefly, against a real PostgreSQL: it writes both
histories, loads both, and prints the figures. The figures are the bench's business;
here, that they are there and nothing failed."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from domains.service import SNAPSHOT_INTERVAL
from scripts.cli.root import app
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_the_bench_prints_both_loads_their_ratio_and_snapshot_sizes(stack: Stack) -> None:
    args = ["bench", "aggregate-load", "--short", "10", "--long", "250", "--loads", "3"]
    env = {"DATABASE_URL": stack.db.database_url, SNAPSHOT_INTERVAL: "100", "COLUMNS": "200"}

    result = CliRunner().invoke(app, args, env=env)

    assert result.exit_code == 0, result.output
    assert "snapshots: every 100 events" in result.output
    assert re.search(r"account of 10 events: [\d.]+ ms per load .* snapshot 0 bytes", result.output)
    assert re.search(
        r"account of 250 events: [\d.]+ ms per load .* snapshot [\d,]+ bytes", result.output
    )
    assert re.search(r"ratio long/short: [\d.]+", result.output)
