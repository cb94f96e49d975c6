"""Fixtures: real PostgreSQL and nats-server started from the wheels, never mocked."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

from scripts.devstack.embedded import EmbeddedPostgres, free_port
from tests.support.stack import Stack, provisioned_stack

# Playwright's `browser` and `page` fixtures, driving the system's Chromium.
pytest_plugins = ("tests.support.browser",)
PORTS_PER_WORKER = 2000
FIRST_TEST_PORT = 20000  # below the kernel's ephemeral ports (32768 and up)
# Packages whose modules share one running system per worker (a session or package
# fixture): all their modules go to the same worker, so it is started once.
SHARED_STACK_PACKAGES = ("tests/e2e/", "tests/faults/")


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker (gw0, gw1...) takes its servers' and services' ports from
    a range of its own: two workers never choose the same free port at once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = FIRST_TEST_PORT + int(worker or 0) * PORTS_PER_WORKER
    os.environ["PAYSTREAM_PORT_RANGE"] = f"{low}-{low + PORTS_PER_WORKER - 1}"


class SharedStackScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist is untyped
    """pytest-xdist's one-file-per-unit scheduling, except that each package of
    SHARED_STACK_PACKAGES is one unit."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return next((p for p in SHARED_STACK_PACKAGES if path.startswith(p)), path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SharedStackScheduling:
    return SharedStackScheduling(config, log)


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
    work_dir = tmp_path_factory.mktemp("stack")
    with provisioned_stack(postgres_server.admin_url, work_dir, request.module.__name__) as made:
        yield made
