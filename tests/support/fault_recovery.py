"""One fault under load, measured: what was in flight when it hit, how long until every
service was ready and every read model caught up after the dependency returned, and
how much each service logged meanwhile."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from eventstore.contexts import CONTEXTS
from tests.support.fault_checks import (
    PROJECTIONS,
    RECOVERY_BOUND_SECONDS,
    assert_acknowledged_stored,
    assert_payments_finished,
    assert_published_exactly_once,
    assert_read_models_match_store,
    caught_up,
    log_lines,
    reached,
    seconds_until_all_ready,
)
from tests.support.fault_load import CommandLoad, Tally
from tests.support.fault_stack import FaultStack
from tests.support.stack import wait_until

WARM_UP_COMMANDS = 20


@dataclass
class Recovery:
    """What a fault run measured."""

    name: str
    ready_seconds: float = 0.0
    slowest_ready: tuple[str, float] = ("", 0.0)
    caught_up_seconds: float = 0.0
    log_lines: dict[str, int] = field(default_factory=dict)

    def report(self) -> str:
        noisiest = max(self.log_lines.items(), key=lambda item: item[1])
        return (
            f"fault {self.name}: every service ready {self.ready_seconds:.1f}s (last:"
            f" {self.slowest_ready[0]}) and every read"
            f" model caught up {self.caught_up_seconds:.1f}s after the dependency returned;"
            f" most log lines from one service: {noisiest[1]} ({noisiest[0]})"
        )


class FaultRun:
    """Load running; the test takes a dependency away, holds it, gives it back."""

    def __init__(self, faulty: FaultStack, name: str) -> None:
        self.faulty = faulty
        self.recovery = Recovery(name)
        self.load = CommandLoad(
            faulty.url("accounts-api"),
            faulty.url("payments-api"),
            faulty.accounts,
            faulty.stack.auth(),
        )
        self._lines = {p.spec.name: log_lines(p) for p in faulty.services()}
        self._pids = {p.spec.name: p.process.pid for p in faulty.services() if p.process}

    def start_load(self) -> None:
        self.load.start()
        wait_until(
            lambda: self.load.acknowledged_count() >= WARM_UP_COMMANDS, 30, "commands flowing"
        )

    def hold(self, seconds: float, since: float) -> None:
        """Keep the dependency away until `seconds` after `since` (the fault's length)."""
        threading.Event().wait(max(0.0, since + seconds - time.monotonic()))

    def returned(self) -> None:
        """The dependency is back: measure readiness, then catching up with the events
        stored by the time it returned, while the load goes on."""
        back = time.monotonic()
        acknowledged = self.load.acknowledged_count()
        ready_after = seconds_until_all_ready(self.faulty.services())
        self.recovery.slowest_ready = max(ready_after.items(), key=lambda item: item[1])
        self.recovery.ready_seconds = time.monotonic() - back
        stack = self.faulty.stack
        targets = {c.name: stack.max_position(c) for c in CONTEXTS.values()}
        wait_until(
            lambda: all(
                reached(stack, p, s) >= targets[s.name] for p in PROJECTIONS for s in p.sources
            ),
            RECOVERY_BOUND_SECONDS,
            "read models caught up with what was stored before the return",
        )
        self.recovery.caught_up_seconds = time.monotonic() - back
        wait_until(
            lambda: self.load.acknowledged_count() > acknowledged + WARM_UP_COMMANDS,
            RECOVERY_BOUND_SECONDS,
            "new commands acknowledged after the return",
        )

    def finish(self, *, restarted: tuple[str, ...] = ()) -> Tally:
        """Stop the load and check everything; services not `restarted` by the test must
        have healed themselves in the same process."""
        tally = self.load.finish()
        stack = self.faulty.stack
        assert_acknowledged_stored(stack, tally)
        assert_payments_finished(stack, tally)
        wait_until(lambda: caught_up(stack), RECOVERY_BOUND_SECONDS, "read models caught up")
        assert_published_exactly_once(stack)
        assert_read_models_match_store(stack, self.faulty.accounts, tally)
        for process in self.faulty.services():
            name = process.spec.name
            assert not process.exited(), f"{name} exited:\n{process.log_tail()}"
            if name not in restarted:
                assert process.process and process.process.pid == self._pids[name], name
        self.recovery.log_lines = {
            p.spec.name: log_lines(p) - self._lines.get(p.spec.name, 0)
            for p in self.faulty.services()
        }
        print(self.recovery.report())
        return tally
