"""The fault suite's system: its own PostgreSQL and nats-server (so a test may stop,
kill and restart them), provisioned, with the services of both contexts as processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.devstack.embedded import EmbeddedPostgres, free_port
from tests.support.fault_stack import (
    ACCOUNTS,
    DUPLICATE_WINDOW_SECONDS,
    SERVICES,
    FaultStack,
)
from tests.support.payments_workload import Ledger, open_funded_accounts
from tests.support.stack import provisioned_stack


@pytest.fixture(scope="package")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    work_dir = tmp_path_factory.mktemp("faults")
    postgres = EmbeddedPostgres(
        work_dir / "postgres", free_port(), settings={"fsync": "off", "full_page_writes": "off"}
    )
    postgres.start()
    with pytest.MonkeyPatch.context() as patch:
        # The streams' duplicate window, short so a test can outlast it.
        patch.setenv("NATS_DUPLICATE_WINDOW_SECONDS", DUPLICATE_WINDOW_SECONDS)
        try:
            with provisioned_stack(postgres.admin_url, work_dir, "faults") as stack:
                stack.start_all(SERVICES)
                ledger = Ledger()
                open_funded_accounts(stack.url_of("accounts-api"), ACCOUNTS, ledger, stack.auth())
                yield FaultStack(stack, postgres, ledger.accounts)
        finally:
            postgres.stop()
