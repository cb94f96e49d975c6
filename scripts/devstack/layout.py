"""What `paystream up` started, as `paystream status` and `paystream top` read it: each
process it recorded in its layout file (replicas and the gateway included), or the
default ports when it recorded none; and whether one is ready.

A layout entry is a URL (`"http://127.0.0.1:8001"`, the first format) or an object with
the URL and its readiness URL (`{"url": ..., "ready": ...}`). A service is ready by its
`/readyz` and shows its metrics at `/metrics` beside it; the gateway (Envoy) is ready
by its admin `/ready`, and its metrics are Envoy's own, not read here.

compose.yaml's console reads a layout too, deploy/console/services.json, written by
`paystream compose layout` from `compose_layout()`; tests/unit/test_compose.py keeps it
up to date."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.devstack.gateway import gateway_ports
from scripts.devstack.services import COMPOSE_SERVICES, SERVICES
from scripts.devstack.up import layout_file

SERVICE_READY, SERVICE_METRICS = "/readyz", "/metrics"
GATEWAY = "gateway"
UP, DOWN = "up", "down"
COMPOSE_LAYOUT = Path(__file__).resolve().parents[2] / "deploy" / "console" / "services.json"


class BadLayout(ValueError):
    """The layout file cannot be read, or is not a layout of services."""


@dataclass(frozen=True)
class Target:
    name: str
    ready_url: str
    metrics_url: str | None  # None: its metrics are not Paystream's (the gateway)
    url: str = field(default="", compare=False)  # where it answers (shown by `status`)


def service(name: str, url: str) -> Target:
    return Target(name, url + SERVICE_READY, url + SERVICE_METRICS, url)


def default_targets() -> list[Target]:
    """The gateway and every service at the ports `paystream up` gives them by default."""
    port, admin_port = gateway_ports()
    ready = f"http://127.0.0.1:{admin_port}/ready"
    gateway = Target(GATEWAY, ready, None, f"http://127.0.0.1:{port}")
    return [gateway, *(service(spec.name, f"http://127.0.0.1:{spec.port}") for spec in SERVICES)]


def compose_layout() -> dict[str, dict[str, str]]:
    """What compose.yaml's console watches: every service compose runs, by its DNS name
    (one replica of a scaled one). Not the gateway: its readiness is on its admin
    interface, which listens on its container's loopback only."""
    urls = {spec.name: f"http://{spec.name}:{spec.port}" for spec in COMPOSE_SERVICES}
    return {name: {"url": url, "ready": url + SERVICE_READY} for name, url in urls.items()}


def target(name: str, entry: object) -> Target:
    """One entry of the layout, in either format."""
    if isinstance(entry, str) and entry.startswith("http"):
        return service(name, entry)
    if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("url", "ready")):
        url, ready = entry["url"].rstrip("/"), entry["ready"]
        return (
            service(name, url) if ready == url + SERVICE_READY else Target(name, ready, None, url)
        )
    raise BadLayout(f"{name!r} is neither a URL nor an object with url and ready")


def read_targets(data_dir: Path) -> list[Target]:
    """What `paystream up` recorded in `data_dir`, else `default_targets()`."""
    path = layout_file(data_dir)
    if not path.exists():
        return default_targets()
    try:
        layout = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BadLayout(f"cannot read the services' layout {path}: {error}") from None
    if not isinstance(layout, dict) or not layout:
        raise BadLayout(f"{path} is not a layout of services (an object of names and URLs)")
    try:
        return [target(name, entry) for name, entry in layout.items()]
    except BadLayout as error:
        raise BadLayout(f"{path} is not a layout of services: {error}") from None


def readiness(http: httpx.Client, ready_url: str) -> str:
    """ "up", "down", or "not ready: <what is missing>" from a readiness URL."""
    try:
        response = http.get(ready_url)
    except httpx.HTTPError:
        return DOWN
    if response.status_code == 200:
        return UP
    try:
        missing = response.json().get("missing") or []
    except (ValueError, AttributeError):  # not JSON, or not an object (Envoy's text)
        missing = []
    return "not ready: " + ("; ".join(missing) if missing else f"HTTP {response.status_code}")
