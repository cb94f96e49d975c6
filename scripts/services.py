"""Every service of the system: its name, its `paystream serve` arguments, its port.

`paystream up`, the test fixtures and compose.yaml all start services from this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the system."""

    name: str
    serve_args: tuple[str, ...]
    port: int
    kind: str  # "command-api", "query-api" or "worker"

    def command(self, port: int | None = None) -> list[str]:
        """The `paystream` arguments that run this service."""
        return ["serve", *self.serve_args, "--port", str(port or self.port)]


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("accounts-api", ("accounts-api",), 8001, "command-api"),
    ServiceSpec("accounts-query-api", ("query-api", "account-summary"), 8002, "query-api"),
    ServiceSpec("relay-accounts", ("relay", "accounts"), 8101, "worker"),
    ServiceSpec("projector-account-summary", ("projector", "account_summary"), 8102, "worker"),
)
