"""Who a verified token names (identity/verifier.py makes them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The verified caller: its subject, its roles, and its client id when it has one."""

    subject: str
    roles: frozenset[str]
    client_id: str | None = None
