"""Concurrent clients that keep sending commands through a fault and record, for each,
whether it was acknowledged; and how many were in flight at any moment."""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from tests.support.stack import wait_until

# What a command may answer while PostgreSQL or NATS is away: done, or "try again".
ACCEPTED = {200, 202}
RETRYABLE = {409, 503}  # concurrent-modification, store-unavailable / not-ready


@dataclass(frozen=True)
class Acknowledged:
    """A command the system said it did: its key, its account and its stored position."""

    key: str
    account_id: str
    position: int


@dataclass
class Tally:
    acknowledged: list[Acknowledged] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)
    refused: int = 0  # answered 409/503 or not answered at all: not acknowledged
    unexpected: list[str] = field(default_factory=list)


class CommandLoad:
    """`clients` threads depositing into `accounts`, one thread paying between them."""

    def __init__(
        self,
        accounts_api: str,
        payments_api: str,
        accounts: list[str],
        auth: dict[str, str],
        clients: int = 6,
    ) -> None:
        self.accounts_api = accounts_api
        self.auth = auth
        self.payments_api = payments_api
        self.accounts = accounts
        self.tally = Tally()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._deposit_loop, i), daemon=True)
            for i in range(clients)
        ]
        self._threads.append(
            threading.Thread(target=self._guarded, args=(self._payment_loop, clients), daemon=True)
        )
        self._errors: list[BaseException] = []

    @property
    def in_flight(self) -> int:
        """Commands sent and not answered yet, right now."""
        with self._lock:
            return self._in_flight

    def acknowledged_count(self) -> int:
        with self._lock:
            return len(self.tally.acknowledged)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_for_in_flight(self) -> int:
        """Block until some command is on its way; how many are (the fault lands on them)."""
        wait_until(lambda: self.in_flight > 0, 10, "a command in flight")
        return self.in_flight

    def finish(self) -> Tally:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)
        assert not self._errors, self._errors
        assert not self.tally.unexpected, self.tally.unexpected[:5]
        return self.tally

    def _guarded(self, loop: Callable[[int], None], index: int) -> None:
        try:
            loop(index)
        except BaseException as error:
            self._errors.append(error)

    def _send(
        self, http: httpx.Client, path: str, body: Mapping[str, object], key: str
    ) -> httpx.Response | None:
        with self._lock:
            self._in_flight += 1
        try:
            return http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            return None
        finally:
            with self._lock:
                self._in_flight -= 1

    def _deposit_loop(self, client: int) -> None:
        rng = random.Random(client)
        with httpx.Client(base_url=self.accounts_api, timeout=15, headers=self.auth) as http:
            for n in range(1_000_000):
                if self.stop.is_set():
                    return
                account = rng.choice(self.accounts)
                key = f"fault-{client}-{n}"
                body = {"amount": rng.randint(1, 100)}
                response = self._send(http, f"/accounts/{account}/deposits", body, key)
                self._record(response, functools.partial(self._deposited, key, account))

    def _payment_loop(self, client: int) -> None:
        rng = random.Random(client)
        with httpx.Client(base_url=self.payments_api, timeout=15, headers=self.auth) as http:
            for n in range(1_000_000):
                if self.stop.is_set():
                    return
                source, destination = rng.sample(self.accounts, 2)
                body = {
                    "source": source,
                    "destination": destination,
                    "amount": rng.randint(1, 50),
                    "currency": "EUR",
                    "reference": f"fault {n}",
                }
                response = self._send(http, "/payments", body, f"fault-pay-{n}")
                self._record(response, lambda r: self.tally.payments.append(r.json()["payment_id"]))
                self.stop.wait(0.05)

    def _deposited(self, key: str, account: str, response: httpx.Response) -> None:
        position = int(response.json()["consistency_token"].split(":")[1])
        self.tally.acknowledged.append(Acknowledged(key, account, position))

    def _record(
        self, response: httpx.Response | None, on_accepted: Callable[[httpx.Response], None]
    ) -> None:
        with self._lock:
            if response is None or response.status_code in RETRYABLE:
                self.tally.refused += 1
            elif response.status_code in ACCEPTED:
                on_accepted(response)
            else:
                self.tally.unexpected.append(f"{response.status_code} {response.text[:200]}")
