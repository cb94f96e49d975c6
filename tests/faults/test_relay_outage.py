"""The relay killed (-9) under load and kept away longer than the stream's duplicate
window: the server can no longer drop a repeated message id, so only the relay's own
resume point (the stream's last message) keeps the stream exactly once."""

from __future__ import annotations

import time

from eventstore.contexts import ACCOUNTS
from tests.support.fault_recovery import FaultRun
from tests.support.fault_stack import DUPLICATE_WINDOW_SECONDS, FaultStack
from tests.support.stack import wait_until


def test_a_relay_back_after_the_duplicate_window_publishes_each_event_once(
    faulty: FaultStack,
) -> None:
    run = FaultRun(faulty, "relay-down-past-duplicate-window")
    run.start_load()
    faulty.process("relay-accounts").kill()
    killed = time.monotonic()
    published_at_kill = max(faulty.stack.stream_positions(ACCOUNTS))
    wait_until(
        lambda: faulty.stack.max_position(ACCOUNTS) > published_at_kill + 10,
        10,
        "events stored while the relay is away",
    )
    run.hold(float(DUPLICATE_WINDOW_SECONDS) + 1, since=killed)
    stored_at_return = faulty.stack.max_position(ACCOUNTS)
    relay = faulty.stack.start("relay-accounts")
    run.returned()
    run.finish(restarted=("relay-accounts",))

    assert stored_at_return > published_at_kill, "the kill left nothing unpublished"
    assert max(faulty.stack.stream_positions(ACCOUNTS)) >= stored_at_return
    assert relay.process is not None and relay.process.poll() is None
