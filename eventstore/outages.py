"""Bounded logging of a failure that repeats: once, then a summary, then its end.

A worker that cannot reach PostgreSQL or NATS fails again and again until the
dependency returns. Logging each failure floods the log; logging none hides the
outage. An `Outage` logs the first failure with its reason, then at most one
summary (count and last error) every `summary_seconds`, and the recovery once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

SUMMARY_SECONDS = 10.0


def reason(error: BaseException) -> str:
    """One line naming a failure: the first of a group, its type and the first line of
    its message (libpq adds hints on further lines)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "no detail"
    return f"{type(error).__name__}: {text[:300]}"


class Outage:
    """The state of one repeating failure (of `what`), and what it has logged."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        summary_seconds: float = SUMMARY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.summary_seconds = summary_seconds
        self.clock = clock
        self.failures = 0
        self.last_error = ""
        self._started = 0.0
        self._summarised_at = 0.0
        self._since_summary = 0

    @property
    def active(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException, *, with_traceback: bool = False) -> None:
        """Count a failure; log it if it is the first, or summarise if one is due."""
        now = self.clock()
        self.last_error = reason(error)
        if not self.active:
            self._started = self._summarised_at = now
            self.failures = 1
            self.log.warning(
                "%s failed: %s",
                self.what,
                self.last_error,
                exc_info=error if with_traceback else None,
            )
            return
        self.failures += 1
        self._since_summary += 1
        if now - self._summarised_at >= self.summary_seconds:
            self.log.warning(
                "%s still failing: %d failures in %.0fs, last: %s",
                self.what,
                self._since_summary,
                now - self._summarised_at,
                self.last_error,
            )
            self._summarised_at = now
            self._since_summary = 0

    def recovered(self) -> None:
        """Log the end of the outage once (nothing if there was none)."""
        if not self.active:
            return
        self.log.info(
            "%s recovered after %.1fs (%d failures, last: %s)",
            self.what,
            self.clock() - self._started,
            self.failures,
            self.last_error,
        )
        self.failures = 0
        self._since_summary = 0
