"""What `paystream up` prints stays readable and copyable at 80 columns."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from scripts.devstack.services import BENCH_HELLO, CONSOLE, SERVICES
from scripts.devstack.supervisor import ServiceProcess
from scripts.devstack.up import print_urls

DATABASE_URL = "postgresql://postgres@127.0.0.1:54329/paystream"
NATS_URL = "nats://127.0.0.1:54222,nats://127.0.0.1:54223,nats://127.0.0.1:54224"
GATEWAY_URL = "http://127.0.0.1:8000"


def printed(services: list[ServiceProcess], bench: bool = False) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    print_urls(services, console, DATABASE_URL, NATS_URL, GATEWAY_URL, bench)
    return console.export_text().splitlines()


def test_every_url_is_printed_whole_at_80_columns(tmp_path: Path) -> None:
    services = [ServiceProcess(spec, spec.port, {}, tmp_path) for spec in SERVICES]

    lines = printed(services)

    assert f"export DATABASE_URL={DATABASE_URL}" in lines
    assert f"export NATS_URL={NATS_URL}" in lines
    for service in services:
        assert any(service.spec.name in line and service.url in line for line in lines)


def test_the_gateway_comes_first_with_how_to_get_a_token(tmp_path: Path) -> None:
    services = [ServiceProcess(spec, spec.port, {}, tmp_path) for spec in SERVICES]

    lines = printed(services)

    gateway = [i for i, line in enumerate(lines) if "gateway" in line and GATEWAY_URL in line]
    first_service = next(i for i, line in enumerate(lines) if SERVICES[0].name in line)
    assert gateway and gateway[0] < first_service
    assert any(line.startswith(f"gateway {GATEWAY_URL}") for line in lines)
    token = "TOKEN=$(.venv/bin/paystream token --subject alice)"
    assert any(line.strip() == token for line in lines)
    assert any(
        f'curl -H "Authorization: Bearer $TOKEN" -X POST {GATEWAY_URL}/accounts' in line
        for line in lines
    )


def test_each_replica_is_printed_with_its_own_url(tmp_path: Path) -> None:
    spec = next(spec for spec in SERVICES if spec.name == "accounts-api")
    replicas = [
        ServiceProcess(spec, port, {}, tmp_path, replica=n) for n, port in ((1, 8001), (2, 8201))
    ]

    lines = printed(replicas)

    assert any("accounts-api " in line and "http://127.0.0.1:8001" in line for line in lines)
    assert any("accounts-api-2" in line and "http://127.0.0.1:8201" in line for line in lines)


def test_bench_mode_says_so_and_lists_the_hello_service(tmp_path: Path) -> None:
    specs = [*SERVICES, BENCH_HELLO]
    services = [ServiceProcess(spec, spec.port, {}, tmp_path) for spec in specs]

    lines = printed(services, bench=True)

    assert any("bench-hello" in line and "http://127.0.0.1:8008" in line for line in lines)
    assert any(f"GET {GATEWAY_URL}/bench/hello" in line for line in lines)
    assert not any("/bench/hello" in line for line in printed(services[:-1]))


def test_the_console_is_printed_behind_the_gateway_with_how_to_sign_in(tmp_path: Path) -> None:
    services = [ServiceProcess(spec, spec.port, {}, tmp_path) for spec in (*SERVICES, CONSOLE)]

    lines = printed(services)

    [line] = [line for line in lines if line.startswith("console ")]
    assert f"{GATEWAY_URL}/console/" in line
    assert "operator or auditor" in line
