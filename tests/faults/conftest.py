"""The fault suite's system: its own PostgreSQL and nats-server (so a test may stop,
kill and restart them), provisioned, with the services of both contexts as processes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from scripts.provision import provision
from tests.support.fault_stack import (
    ACCOUNTS,
    DUPLICATE_WINDOW_SECONDS,
    SERVICES,
    FaultStack,
)
from tests.support.payments_workload import Ledger, open_funded_accounts
from tests.support.stack import Stack, database_url_for


@pytest.fixture(scope="package")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    work_dir = tmp_path_factory.mktemp("faults")
    postgres = EmbeddedPostgres(
        work_dir / "postgres", free_port(), settings={"fsync": "off", "full_page_writes": "off"}
    )
    postgres.start()
    nats_server = EmbeddedNats(work_dir / "nats", free_port())
    nats_server.start()
    saved = os.environ.get("NATS_DUPLICATE_WINDOW_SECONDS")
    os.environ["NATS_DUPLICATE_WINDOW_SECONDS"] = DUPLICATE_WINDOW_SECONDS
    stack = Stack(database_url_for(postgres.admin_url, "faults"), nats_server, work_dir)
    try:
        provision(stack.db, nats_server.url)
        processes = [stack.start(name, wait=False) for name in SERVICES]
        for process in processes:
            process.wait_ready()
        ledger = Ledger()
        open_funded_accounts(stack.url_of("accounts-api"), ACCOUNTS, ledger)
        yield FaultStack(stack, postgres, ledger.accounts)
    finally:
        stack.stop_all()
        nats_server.stop()
        postgres.stop()
        if saved is None:
            os.environ.pop("NATS_DUPLICATE_WINDOW_SECONDS", None)
        else:
            os.environ["NATS_DUPLICATE_WINDOW_SECONDS"] = saved
