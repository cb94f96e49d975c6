"""What `paystream up` prints stays readable and copyable at 80 columns."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from scripts.devstack.services import SERVICES
from scripts.devstack.supervisor import ServiceProcess
from scripts.devstack.up import print_urls

DATABASE_URL = "postgresql://postgres@127.0.0.1:54329/paystream"
NATS_URL = "nats://127.0.0.1:54222,nats://127.0.0.1:54223,nats://127.0.0.1:54224"


def test_every_url_is_printed_whole_at_80_columns(tmp_path: Path) -> None:
    console = Console(width=80, record=True, color_system=None)
    services = [ServiceProcess(spec, spec.port, {}, tmp_path) for spec in SERVICES]

    print_urls(services, console, DATABASE_URL, NATS_URL)

    lines = console.export_text().splitlines()
    assert f"export DATABASE_URL={DATABASE_URL}" in lines
    assert f"export NATS_URL={NATS_URL}" in lines
    for service in services:
        assert any(service.spec.name in line and service.url in line for line in lines)
