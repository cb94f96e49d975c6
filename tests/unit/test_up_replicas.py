"""`paystream up --replicas SERVICE=N`: which APIs may run several processes, and on
which ports."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts.cli.root import app
from scripts.devstack.replicas import (
    FIRST_REPLICA_PORT,
    InvalidReplicas,
    parse_replicas,
    replica_ports,
)
from scripts.devstack.services import SERVICES

DEFAULT_PORTS = {spec.name: [spec.port] for spec in SERVICES}


def test_replicas_of_several_apis_are_parsed() -> None:
    values = ["accounts-api=2", "payments-query-api=8", "payments-api=1"]
    assert parse_replicas(values) == {
        "accounts-api": 2,
        "payments-query-api": 8,
        "payments-api": 1,
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("saga=2", "not a command or query API"),
        ("relay-accounts=2", "not a command or query API"),
        ("issuer=2", "not a command or query API"),
        ("nope=2", "not a command or query API"),
        ("accounts-api=0", "the count must be 1 to 8"),
        ("accounts-api=9", "the count must be 1 to 8"),
        ("accounts-api=-1", "expected SERVICE=N"),
        ("accounts-api=two", "expected SERVICE=N"),
        ("accounts-api", "expected SERVICE=N"),
    ],
)
def test_a_bad_value_is_refused_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidReplicas, match=reason):
        parse_replicas([value])


def test_a_service_given_twice_is_refused() -> None:
    with pytest.raises(InvalidReplicas, match="given twice"):
        parse_replicas(["accounts-api=2", "accounts-api=3"])


def test_no_replicas_keeps_every_service_on_its_own_port() -> None:
    assert replica_ports({}, is_free=lambda port: True) == DEFAULT_PORTS


def test_further_replicas_take_consecutive_free_ports_after_the_defaults() -> None:
    busy = {FIRST_REPLICA_PORT + 1}
    ports = replica_ports(
        {"accounts-api": 3, "payments-query-api": 2},
        reserved=[FIRST_REPLICA_PORT + 2],
        is_free=lambda port: port not in busy,
    )

    assert ports["accounts-api"] == [8001, FIRST_REPLICA_PORT, FIRST_REPLICA_PORT + 3]
    assert ports["payments-query-api"] == [8004, FIRST_REPLICA_PORT + 4]
    assert {name: found[:1] for name, found in ports.items()} == DEFAULT_PORTS
    every = [port for found in ports.values() for port in found]
    assert len(every) == len(set(every))


@pytest.mark.parametrize("value", ["saga=2", "accounts-api=9", "accounts-api"])
def test_up_refuses_bad_replicas_in_one_line_with_exit_2_before_starting(
    value: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["up", "--data-dir", str(tmp_path), "--replicas", value])

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --replicas ") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
