"""`paystream status`: which services answer /readyz."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from scripts.devstack.services import SERVICES
from scripts.devstack.up import layout_file


def service_urls(data_dir: Path) -> dict[str, str]:
    """The URLs `up` recorded, or the default ports when it recorded none."""
    path = layout_file(data_dir)
    if path.exists():
        urls: dict[str, str] = json.loads(path.read_text())
        return urls
    return {spec.name: f"http://127.0.0.1:{spec.port}" for spec in SERVICES}


def probe(url: str) -> str:
    """ "up", "down", or "not ready: <what is missing>" from the service's /readyz."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=5.0)
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
    for name, url in service_urls(data_dir).items():
        state = probe(url)
        all_up = all_up and state == "up"
        colour = "green" if state == "up" else "red"
        table.add_row(name, url, f"[{colour}]{state}[/{colour}]")
    console.print(table)
    return 0 if all_up else 1
