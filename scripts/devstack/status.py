"""`paystream status`: whether the gateway and each service are ready."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from scripts.devstack.gateway import gateway_ports
from scripts.devstack.services import SERVICES
from scripts.devstack.up import layout_file


def service_urls(data_dir: Path) -> dict[str, tuple[str, str]]:
    """What `up` recorded, each one's URL and readiness URL, the gateway first; the
    default ports when it recorded nothing."""
    path = layout_file(data_dir)
    if path.exists():
        layout: dict[str, dict[str, str]] = json.loads(path.read_text())
        return {name: (entry["url"], entry["ready"]) for name, entry in layout.items()}
    port, admin_port = gateway_ports()
    gateway = {"gateway": (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}/ready")}
    return gateway | {
        spec.name: (f"http://127.0.0.1:{spec.port}", f"http://127.0.0.1:{spec.port}/readyz")
        for spec in SERVICES
    }


def probe(ready_url: str) -> str:
    """ "up", "down", or "not ready: <what is missing>" from a readiness URL."""
    try:
        response = httpx.get(ready_url, timeout=5.0)
    except httpx.HTTPError:
        return "down"
    if response.status_code == 200:
        return "up"
    try:
        missing = response.json().get("missing") or []
    except ValueError:
        missing = []
    return "not ready: " + ("; ".join(missing) if missing else f"HTTP {response.status_code}")


def run_status(data_dir: Path, console: Console) -> int:
    """Print a table of services; exit code 0 only when every service is up."""
    table = Table(title="Paystream services")
    table.add_column("service")
    table.add_column("URL")
    table.add_column("state")
    all_up = True
    for name, (url, ready_url) in service_urls(data_dir).items():
        state = probe(ready_url)
        all_up = all_up and state == "up"
        colour = "green" if state == "up" else "red"
        table.add_row(name, url, f"[{colour}]{state}[/{colour}]")
    console.print(table)
    return 0 if all_up else 1
