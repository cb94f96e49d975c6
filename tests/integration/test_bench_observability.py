"""`paystream bench observability` end to end, briefly: it starts its own stack, runs
every configuration, prints a row for each and leaves no process behind; a service that
does not become ready ends it in one line. No figure is checked (they are the bench's to
print, docs/benchmarks.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.benchmarks import observability
from scripts.benchmarks.observability import (
    CONFIGURATIONS,
    SEALING_CONFIGURATIONS,
    Configuration,
)
from scripts.cli.errors import CANNOT_RUN
from tests.support.cli import CliRun, paystream

pytestmark = pytest.mark.integration  # its own stack: no need for the shared e2e one

BRIEFLY = ("bench", "observability", "--rounds", "1", "--seconds", "1", "--clients", "2")
NUMBER = r"\d+(\.\d+)?"


def left_running() -> list[str]:
    """Processes whose command line names one of the bench's temporary directories."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "paystream-bench-observability-" in text:
            found.append(text)
    return found


def assert_a_row_each(result: CliRun, configurations: tuple[Configuration, ...]) -> None:
    assert result.returncode == 0, result.output
    for configuration in configurations:
        row = rf"^\s*{re.escape(configuration.name)}(\s+{NUMBER}(, {NUMBER})*){{7}}\s+{NUMBER}\s*$"
        assert re.search(row, result.stdout, re.MULTILINE), (configuration.name, result.stdout)


def test_every_configuration_runs_and_is_a_row_of_the_table() -> None:
    result = paystream("", *BRIEFLY)

    assert_a_row_each(result, CONFIGURATIONS)
    assert "machine:" in result.stdout
    assert left_running() == []


def test_a_service_that_does_not_start_ends_the_bench_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unusable(configuration: Configuration, otlp_endpoint: str) -> dict[str, str]:
        return {"PAYSTREAM_METRICS": "sometimes"}  # every service refuses to start

    monkeypatch.setattr(observability.Configuration, "env", unusable)

    result = paystream("", *BRIEFLY)

    assert result.returncode == CANNOT_RUN, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: relay-accounts exited"), line
    assert "PAYSTREAM_METRICS is 'sometimes'" in line
    assert left_running() == []


def test_the_sealing_bench_runs_both_configurations_and_checks_what_they_stored() -> None:
    """Each run's opened owners are checked sealed, or plaintext with sealing off."""
    result = paystream("", "bench", "sealing", *BRIEFLY[2:])

    assert_a_row_each(result, SEALING_CONFIGURATIONS)
    assert "with sealing off and on" in result.stdout
    assert left_running() == []
