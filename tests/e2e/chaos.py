"""Failures injected while payments run: the accounts API down, the saga killed (SIGKILL)."""

from __future__ import annotations

import threading

from scripts.devstack.supervisor import ServiceProcess
from tests.stack import Stack

SAGA_KILLS = 3
OUTAGE_SECONDS = 3.0
BETWEEN_SECONDS = 1.0


class Chaos(threading.Thread):
    """Stop the accounts API for a few seconds, then kill -9 and restart the saga 3 times."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.accounts_back = threading.Event()
        self.saga_kills = 0
        self.accounts_outages = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            threading.Event().wait(0.3)
            self._process("accounts-api").stop()
            self.accounts_outages += 1
            threading.Event().wait(OUTAGE_SECONDS)
            self.stack.start("accounts-api")
            self.accounts_back.set()
            for _ in range(SAGA_KILLS):
                threading.Event().wait(BETWEEN_SECONDS)
                self._process("saga").kill()
                self.saga_kills += 1
                self.stack.start("saga")
        except BaseException as error:
            self.error = error
        finally:
            self.accounts_back.set()

    def _process(self, name: str) -> ServiceProcess:
        return next(
            p for p in reversed(self.stack.processes) if p.spec.name == name and not p.exited()
        )

    def finish(self) -> None:
        self.join(timeout=120)
        assert self.error is None, self.error
