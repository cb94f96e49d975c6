"""Verifications started from the audit page: `paystream audit verify`'s pass over every
context's hash chains, or one context's, run in a thread of the console's process,
recorded as who started it, with its progress and broken links kept for the page. One
runs at a time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from eventstore.chain_check import BrokenLink
from eventstore.chain_verification import verify_chains
from eventstore.contexts import CONTEXTS, Context
from eventstore.operator_actions import recorded_as
from eventstore.outages import reason
from eventstore.settings import DatabaseSettings
from identity.principal import Principal
from scripts.cli.audit_verify import Checkpoint, snapshot

MAX_LISTED = 1_000  # broken links kept for the page; all are counted
VerifyState = Literal["running", "verified", "broken", "failed"]


class VerifyRunning(Exception):
    """A verification started here is still running."""


class ChainsBroken(Exception):
    """The verification found broken links (recorded as the CLI's exit code 1)."""


@dataclass(frozen=True)
class Found:
    """A broken link, with its context, as the page lists it."""

    context: str
    link: BrokenLink


@dataclass
class ContextProgress:
    name: str
    checked: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.checked / self.total)) if self.total else 100


@dataclass
class VerifyRun:
    """One verification's progress and findings."""

    started_by: str
    checkpoint: str | None
    context: str | None = None  # None: every context
    state: VerifyState = "running"
    contexts: list[ContextProgress] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    broken: int = 0
    events: int = 0
    outcome: str = ""


class VerifyRuns:
    """The console's latest verification."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: VerifyRun | None = None

    def start(
        self,
        principal: Principal,
        saved: Checkpoint | None,
        label: str | None,
        context: str | None = None,
    ) -> VerifyRun:
        """Verify `context` (None: every context) as `principal`, against `saved` when
        given; recorded with the arguments `paystream audit verify` records."""
        with self._lock:
            if self.latest is not None and self.latest.state == "running":
                raise VerifyRunning("a verification started here is still running")
            run = VerifyRun(principal.subject, label, context)
            names = [context] if context is not None else sorted(CONTEXTS)
            run.contexts = [ContextProgress(name) for name in names]
            self.latest = run
        arguments = {"context": context, "checkpoint": label}
        worker = threading.Thread(
            target=_verify, args=(run, principal, saved, arguments), name="audit-verify"
        )
        worker.daemon = True
        worker.start()
        return run


def _verify(
    run: VerifyRun, principal: Principal, saved: Checkpoint | None, arguments: dict[str, object]
) -> None:
    try:
        with recorded_as(principal, "audit verify", arguments):
            for progress in run.contexts:
                _verify_context(run, CONTEXTS[progress.name], progress, saved)
            if run.broken:
                raise ChainsBroken(f"{run.broken:,} broken links")
        run.outcome, run.state = f"every chain verified ({run.events:,} events)", "verified"
    except ChainsBroken as broken:
        run.outcome, run.state = f"{broken} ({run.events:,} events)", "broken"
    except Exception as error:  # a database error most likely: said on the page
        run.outcome, run.state = f"the verification stopped: {reason(error)}", "failed"


def _verify_context(
    run: VerifyRun, context: Context, progress: ContextProgress, saved: Checkpoint | None
) -> None:
    part = saved.contexts.get(context.name) if saved else None

    def keep(link: BrokenLink) -> None:
        run.broken += 1
        if len(run.found) < MAX_LISTED:
            run.found.append(Found(context.name, link))

    def advance(checked: int, total: int) -> None:
        progress.checked, progress.total = checked, total

    with snapshot(DatabaseSettings(), context) as conn:
        checker = verify_chains(
            conn,
            context,
            keep,
            advance,
            part.heads if part else None,
            part.max_position if part else 0,
        )
    run.events += checker.events
