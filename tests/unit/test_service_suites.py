"""`make test SERVICE=<name>` runs one service's suite; no test module is left out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.devstack.services import SERVICES
from tests.service_suites import OWN, SHARED, main, suite

ROOT = Path(__file__).parents[2]


def test_every_service_has_a_suite() -> None:
    assert {spec.name for spec in SERVICES} | {"cli"} == set(OWN)


def test_every_test_module_is_in_some_suite() -> None:
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")}
    listed = {*SHARED, *(path for paths in OWN.values() for path in paths)}
    assert modules - listed == set(), "assign each module to the suites of the services it tests"
    assert listed - modules == set(), "a suite names a module that does not exist"


def test_a_suite_is_the_shared_tests_and_the_service_own_each_once() -> None:
    paths = suite("saga")
    assert paths[: len(SHARED)] == list(SHARED)
    assert "tests/unit/test_saga_decisions.py" in paths and len(paths) == len(set(paths))


def test_an_unknown_service_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown service 'nope' (known: ") and err.count("\n") == 1


def test_make_test_with_an_unknown_service_fails_before_running_anything() -> None:
    result = subprocess.run(
        ["make", "-s", "test", "SERVICE=nope"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "unknown service 'nope'" in result.stderr
    assert "passed" not in result.stdout
