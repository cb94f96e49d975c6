"""The gateway's /console: routed to the console with no bearer token asked for there
alone, only when the layout has a console (`paystream up`'s and compose's have), and
accepted by Envoy (compose's deploy/envoy.json: tests/unit/test_compose.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gateway.console_route import CONSOLE_CLUSTER, CONSOLE_PATH_REGEX
from gateway.envoy_config import bootstrap
from gateway.layouts import local_config
from gateway.tokens import JwtIssuer
from scripts.devstack.embedded_envoy import validate

ISSUER = JwtIssuer("http://127.0.0.1:9000", ("paystream",), "http://127.0.0.1:9000/jwks.json")


def http_filters(document: dict[str, Any]) -> list[dict[str, Any]]:
    listener = document["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return list(manager["http_filters"])


def token_rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    jwt = next(f for f in http_filters(document) if "jwt_authn" in f["name"])
    return list(jwt["typed_config"]["rules"])


def routes(document: dict[str, Any]) -> list[dict[str, Any]]:
    listener = document["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return list(manager["route_config"]["virtual_hosts"][0]["routes"])


def with_console() -> dict[str, Any]:
    return bootstrap(local_config(8000, 9901, ISSUER, console_port=8009))


def test_console_paths_go_to_the_console_without_a_token() -> None:
    document = with_console()

    [route] = [r for r in routes(document) if r["route"]["cluster"] == CONSOLE_CLUSTER]
    assert route["match"] == {"safe_regex": {"regex": CONSOLE_PATH_REGEX}}
    assert "retry_policy" not in route["route"]  # sign-out is a POST
    first, last = token_rules(document)[0], token_rules(document)[-1]
    assert first == {"match": {"safe_regex": {"regex": CONSOLE_PATH_REGEX}}}
    assert "requires" not in first
    assert last["requires"] and last["match"] == {"prefix": "/"}
    clusters = {c["name"] for c in document["static_resources"]["clusters"]}
    assert CONSOLE_CLUSTER in clusters


def test_only_the_console_paths_are_open() -> None:
    pattern = re.compile(CONSOLE_PATH_REGEX)

    for path in ("/console", "/console/", "/console/overview/live", "/console/static/x.js"):
        assert pattern.match(path), path
    for path in ("/consoles", "/consolex/x", "/accounts/console", "/"):
        assert not pattern.match(path), path


def test_without_a_console_every_path_needs_a_token() -> None:
    document = bootstrap(local_config(8000, 9901, ISSUER))

    assert [rule.get("requires") is not None for rule in token_rules(document)] == [True]
    assert all(r["route"]["cluster"] != CONSOLE_CLUSTER for r in routes(document))


def test_the_envoy_binary_accepts_the_console_route(tmp_path: Path) -> None:
    config_file = tmp_path / "envoy.json"
    config_file.write_text(json.dumps(with_console()))

    checked = validate(config_file)

    assert checked.returncode == 0, checked.stdout + checked.stderr
