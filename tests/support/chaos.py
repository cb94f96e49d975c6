"""Failures injected while payments run: the accounts services down, the saga killed
(SIGKILL) while payments are in flight. Each fault records what it hit, so a test can
assert its effect and not only that it happened."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from scripts.devstack.supervisor import ServiceProcess
from tests.support.payments_workload import payments_in_flight
from tests.support.stack import Stack, wait_until
from tests.support.workload import CheckedThread

SAGA_KILLS = 3
OUTAGE_SECONDS = 3.0
BETWEEN_SECONDS = 1.0


class Chaos(CheckedThread):
    """Stop both accounts APIs (commands and the summary the payments API checks), bring
    the summary back first and the command API only once the saga has found it down; then
    kill -9 and restart the saga 3 times, each time with payments in flight."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(self.inject)
        self.stack = stack
        self.accounts_down = threading.Event()
        self.accounts_back = threading.Event()
        self.saga_found_accounts_down = 0  # accounts steps the saga could not reach
        self.in_flight_at_kills: list[int] = []
        self._last_seen_in_flight = 0

    def inject(self) -> None:
        try:
            threading.Event().wait(0.3)
            for name in ("account-summary-query-api", "accounts-api"):
                self._process(name).stop()
            self.accounts_down.set()
            threading.Event().wait(OUTAGE_SECONDS)
            self.stack.start("account-summary-query-api")  # payments are accepted again
            wait_until(
                lambda: self._saga_status()["unavailable"] > 0,
                60,
                "the saga to find the accounts API down",
            )
            self.saga_found_accounts_down = self._saga_status()["unavailable"]
            self.stack.start("accounts-api")
            self.accounts_back.set()
            for _ in range(SAGA_KILLS):
                threading.Event().wait(BETWEEN_SECONDS)
                wait_until(self._payments_in_flight, 60, "payments in flight to kill")
                self._process("saga").kill()
                self.in_flight_at_kills.append(self._last_seen_in_flight)
                self.stack.start("saga")
        finally:
            self.accounts_down.set()
            self.accounts_back.set()

    def _payments_in_flight(self) -> bool:
        """Whether payments are in flight now; remembers how many (the count just before
        a kill, as a second look might find them finished)."""
        self._last_seen_in_flight = payments_in_flight(self.stack)
        return self._last_seen_in_flight > 0

    def saga_steps(self) -> int:
        """Steps the running saga has carried out since it started."""
        return sum(self._saga_status()["steps"].values())

    def _saga_status(self) -> dict[str, Any]:
        url = self._process("saga").url
        status: dict[str, Any] = httpx.get(f"{url}/status", timeout=5).json()
        return status

    def _process(self, name: str) -> ServiceProcess:
        return next(
            p for p in reversed(self.stack.processes) if p.spec.name == name and not p.exited()
        )
