"""`paystream rebuild` started while PostgreSQL is down waits for it (saying so, the
live build serving), then rebuilds; the rebuilt model equals a fold of the store."""

from __future__ import annotations

import subprocess
import sys
import threading

from scripts.devstack.supervisor import service_env
from tests.support.fault_checks import money_movements, seconds_until_all_ready, statement_entries
from tests.support.fault_stack import FaultStack
from tests.support.operator_token import operator_env
from tests.support.stack import wait_until


def test_a_rebuild_waits_for_the_database_then_succeeds(faulty: FaultStack) -> None:
    faulty.postgres.stop(immediate=True)
    command = [sys.executable, "-m", "scripts.cli", "rebuild", "account_statement"]
    env = service_env(faulty.stack.database_url, faulty.nats.url) | operator_env()
    rebuild = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(rebuild.stdout or []), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: any("database connection lost" in line for line in output),
            20,
            "the rebuild to report the lost database",
        )
    finally:
        faulty.postgres.start()
    assert rebuild.wait(60) == 0, "".join(output)
    reader.join(5)
    assert any("rebuilt account_statement into" in line for line in output), output
    seconds_until_all_ready(faulty.services())
    wait_until(
        lambda: statement_entries(faulty.stack) == money_movements(faulty.stack),
        15,
        "the rebuilt statement equal to the store",
    )
