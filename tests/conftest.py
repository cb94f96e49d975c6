"""Fixtures: real PostgreSQL and nats-server started from the wheels, never mocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from scripts.provision import provision
from tests.support.stack import Stack, database_url_for

PORTS_PER_WORKER = 2000
FIRST_TEST_PORT = 20000  # below the kernel's ephemeral ports (32768 and up)


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker (gw0, gw1...) takes its servers' and services' ports from
    a range of its own: two workers never choose the same free port at once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = FIRST_TEST_PORT + int(worker or 0) * PORTS_PER_WORKER
    os.environ["PAYSTREAM_PORT_RANGE"] = f"{low}-{low + PORTS_PER_WORKER - 1}"


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """One PostgreSQL server for the session; each test module gets its own database."""
    server = EmbeddedPostgres(
        tmp_path_factory.mktemp("postgres"),
        free_port(),
        settings={"fsync": "off", "full_page_writes": "off"},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    postgres_server: EmbeddedPostgres,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """A provisioned database and a fresh nats-server for one test module."""
    work_dir: Path = tmp_path_factory.mktemp("stack")
    nats_server = EmbeddedNats(work_dir / "nats", free_port())
    nats_server.start()
    database_url = database_url_for(postgres_server.admin_url, request.module.__name__)
    provision_stack = Stack(database_url, nats_server, work_dir)
    provision(provision_stack.db, nats_server.url)
    try:
        yield provision_stack
    finally:
        provision_stack.stop_all()
        nats_server.stop()
