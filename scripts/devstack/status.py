"""`paystream status`: whether the gateway and each service are ready."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from scripts.devstack.layout import UP, read_targets, readiness

TIMEOUT_SECONDS = 5.0


def run_status(data_dir: Path, console: Console) -> int:
    """Print a table of services; exit code 0 only when every service is up."""
    table = Table(title="Paystream services")
    table.add_column("service")
    table.add_column("URL")
    table.add_column("state")
    all_up = True
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        for target in read_targets(data_dir):
            state = readiness(http, target.ready_url)
            all_up = all_up and state == UP
            colour = "green" if state == UP else "red"
            table.add_row(target.name, target.url, f"[{colour}]{state}[/{colour}]")
    console.print(table)
    return 0 if all_up else 1
