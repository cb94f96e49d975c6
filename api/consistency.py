"""Consistency tokens `<context>:<position>`: read-your-writes across services."""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.problems import Problem

HEADER = "X-Consistency-Token"
_TOKEN = re.compile(r"^([a-z][a-z0-9_]{0,62}):([0-9]{1,18})$")


@dataclass(frozen=True)
class ConsistencyToken:
    """A position in one context's event log."""

    context: str
    position: int

    def __str__(self) -> str:
        return f"{self.context}:{self.position}"

    @classmethod
    def parse(cls, raw: str) -> ConsistencyToken:
        """Parse a header value, or raise a 400 problem saying what is wrong."""
        match = _TOKEN.match(raw.strip())
        if not match:
            raise Problem(
                400,
                "invalid-consistency-token",
                f"{HEADER} must look like 'accounts:42', got {raw[:80]!r}",
            )
        return cls(match.group(1), int(match.group(2)))
