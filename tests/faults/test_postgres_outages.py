"""PostgreSQL taken away under load (a crash-like immediate stop for 5 s, a 30 s
outage): every service says it is not ready meanwhile, heals itself in the same
process when the database returns, and nothing acknowledged is lost or doubled."""

from __future__ import annotations

import time

import httpx
import pytest

from scripts.devstack.layout import readiness as readiness_shown
from tests.support.fault_checks import readiness
from tests.support.fault_recovery import FaultRun
from tests.support.fault_stack import FaultStack, healthy
from tests.support.stack import wait_until

LOG_LINES_BOUND = 60


# A command waits about 12 s on a lost database before it answers 503 (the pool's
# 1 s, then the library's retries: docs/architecture.md, "Failure and recovery").
COMMAND_GIVES_UP_SECONDS = 15


@pytest.mark.parametrize(
    ("seconds", "immediate"), [(5, True), (30, False)], ids=["crash-5s", "down-30s"]
)
def test_services_heal_after_postgres_returns(
    faulty: FaultStack, seconds: int, immediate: bool
) -> None:
    run = FaultRun(faulty, f"postgres-{'crash' if immediate else 'down'}-{seconds}s")
    run.start_load()
    in_flight = run.load.wait_for_in_flight()
    stopped = time.monotonic()
    faulty.postgres.stop(immediate=immediate)
    acknowledged_at_fault = run.load.acknowledged_count()

    services = faulty.services()
    not_ready: set[str] = set()

    def every_service_not_ready() -> bool:
        not_ready.update(p.spec.name for p in services if readiness(p) == 503)
        return len(not_ready) == len(services)

    wait_until(every_service_not_ready, seconds, "every service not ready")
    assert all(healthy(p) for p in services), "a process stopped answering /healthz"
    with httpx.Client(timeout=5) as http:  # as `paystream status` prints it
        shown = readiness_shown(http, faulty.url("projector-accounts-group") + "/readyz")
    assert shown.startswith("not ready: postgresql unreachable"), shown
    run.hold(seconds, since=stopped)
    unacknowledged = run.load.tally.refused
    faulty.postgres.start()
    run.returned()
    tally = run.finish()

    assert in_flight > 0, "the fault did not land on commands in flight"
    if seconds > COMMAND_GIVES_UP_SECONDS:  # a shorter outage may only delay commands
        assert unacknowledged > 0, "no command was refused while the database was away"
    assert len(tally.acknowledged) > acknowledged_at_fault, "nothing was done after the return"
    assert max(run.recovery.log_lines.values()) <= LOG_LINES_BOUND, run.recovery.log_lines
