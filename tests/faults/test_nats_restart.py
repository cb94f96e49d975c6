"""nats-server killed (-9) under load and started again: commands go on being stored,
the workers say they are not ready meanwhile, then the same processes publish and
apply everything stored while it was away, exactly once."""

from __future__ import annotations

import time

import httpx

from eventstore.contexts import ACCOUNTS
from scripts.devstack.layout import readiness as readiness_shown
from tests.support.fault_checks import readiness
from tests.support.fault_recovery import FaultRun
from tests.support.fault_stack import FaultStack
from tests.support.stack import wait_until

DOWN_SECONDS = 3.0
WORKERS = ("relay-accounts", "relay-payments", "projector-accounts-group", "saga")
LOG_LINES_BOUND = 40


def published_position(faulty: FaultStack, relay: str) -> int:
    status = httpx.get(f"{faulty.url(relay)}/status", timeout=5).json()
    return int(status["published_position"])


def test_services_heal_after_nats_is_killed_and_restarted(faulty: FaultStack) -> None:
    run = FaultRun(faulty, "nats-kill-9")
    run.start_load()
    published_before = published_position(faulty, "relay-accounts")
    killed = time.monotonic()
    faulty.nats.kill()

    workers = [faulty.process(name) for name in WORKERS]
    wait_until(
        lambda: all(readiness(p) == 503 for p in workers), DOWN_SECONDS + 10, "workers not ready"
    )
    assert readiness(faulty.process("accounts-api")) == 200, "commands need no NATS"
    with httpx.Client(timeout=5) as http:  # as `paystream status` prints it
        shown = readiness_shown(http, faulty.url("projector-accounts-group") + "/readyz")
    assert shown.startswith("not ready: nats"), shown
    wait_until(
        lambda: faulty.stack.max_position(ACCOUNTS) > published_before + 10,
        10,
        "events stored while NATS is away",
    )
    run.hold(DOWN_SECONDS, since=killed)
    stored, published = (
        faulty.stack.max_position(ACCOUNTS),
        published_position(faulty, "relay-accounts"),
    )
    faulty.nats.start()
    run.returned()
    run.finish()

    assert stored > published, f"nothing unpublished: stored {stored}, published {published}"
    assert published_position(faulty, "relay-accounts") >= faulty.stack.max_position(ACCOUNTS)
    assert max(run.recovery.log_lines.values()) <= LOG_LINES_BOUND, run.recovery.log_lines
