"""`paystream up --bench` (for `bench suite`): the gateway without rate limits, and
GET /bench/hello routed to the hello-world service; without --bench, neither."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.envoy_config import bootstrap
from gateway.rate_limits import RateLimits
from scripts.cli.root import app
from scripts.devstack.embedded_envoy import validate
from scripts.devstack.gateway import UNLIMITED, up_gateway_config
from scripts.devstack.services import BENCH_HELLO, SERVICES

PORTS = {spec.name: [spec.port] for spec in SERVICES}


def routes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    listener = document["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    found = manager["route_config"]["virtual_hosts"][0]["routes"]
    return {route["name"]: route for route in found}


def clusters(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document["static_resources"]["clusters"]}


def test_without_bench_the_limits_are_the_defaults_and_there_is_no_hello_route() -> None:
    config = up_gateway_config(PORTS)
    document = bootstrap(config)

    assert config.rate_limits == RateLimits()
    assert config.bench_hello is None
    assert "GET /bench/hello" not in routes(document)
    assert BENCH_HELLO.name not in clusters(document)


def test_bench_lifts_the_limits_and_routes_the_hello_world_service() -> None:
    config = up_gateway_config(PORTS, bench=True)
    document = bootstrap(config)

    limits = config.rate_limits
    assert limits.per_subject == limits.per_client_ip == UNLIMITED
    assert limits.payment_creation_per_subject == UNLIMITED
    hello = routes(document)["GET /bench/hello"]
    assert hello["match"]["headers"] == [{"name": ":method", "string_match": {"exact": "GET"}}]
    assert hello["route"]["cluster"] == BENCH_HELLO.name
    [endpoint] = clusters(document)[BENCH_HELLO.name]["load_assignment"]["endpoints"]
    address = endpoint["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": "127.0.0.1", "port_value": BENCH_HELLO.port}
    assert clusters(document)[BENCH_HELLO.name]["health_checks"]


def test_the_envoy_binary_accepts_the_bench_configuration(tmp_path: Path) -> None:
    config_file = tmp_path / "envoy.json"
    config_file.write_text(json.dumps(bootstrap(up_gateway_config(PORTS, bench=True))))
    checked = validate(config_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_old_environment_switch_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_GATEWAY_RATE_LIMITS", "off")
    assert up_gateway_config(PORTS).rate_limits == RateLimits()


def test_up_offers_bench_mode() -> None:
    result = CliRunner().invoke(app, ["up", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--bench" in result.output
