"""Rebuilds started from the console: `paystream rebuild <name>`'s operation run in a
thread of the console's process, recorded as the operator who started it, its progress
kept for the page to show. One run per read model at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import AsyncConnection

from eventstore.operator_actions import recorded_as
from eventstore.outages import reason
from eventstore.settings import DatabaseSettings
from identity.principal import Principal
from projections.projection import Projection
from projections.rebuild import RebuildError, plan_rebuild, rebuild

RunState = Literal["running", "finished", "failed"]


class RebuildRunning(Exception):
    """A rebuild of this read model started here is still running."""


@dataclass
class RebuildRun:
    """One rebuild's progress, as the page shows it."""

    projection: str
    started_by: str
    state: RunState = "running"
    applied: int = 0
    total: int = 0
    outcome: str = ""
    started: float = 0.0

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.applied / self.total)) if self.total else 0


class RebuildRuns:
    """The console's rebuilds, the latest per read model."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, RebuildRun] = {}

    def latest(self) -> list[RebuildRun]:
        with self._lock:
            return [self._runs[name] for name in sorted(self._runs)]

    def start(self, projection: type[Projection], principal: Principal) -> RebuildRun:
        """Start rebuilding `projection` as `principal`; RebuildRunning if one runs."""
        with self._lock:
            current = self._runs.get(projection.name)
            if current is not None and current.state == "running":
                raise RebuildRunning(f"a rebuild of {projection.name} is already running")
            run = RebuildRun(projection.name, principal.subject, started=time.monotonic())
            self._runs[projection.name] = run
        worker = threading.Thread(
            target=_rebuild, args=(run, projection, principal), name=f"rebuild-{projection.name}"
        )
        worker.daemon = True
        worker.start()
        return run


def _rebuild(run: RebuildRun, projection: type[Projection], principal: Principal) -> None:
    """The rebuild, recorded like `paystream rebuild <name>`; its end kept in `run`."""
    arguments = {"projection": projection.name, "dry_run": False}
    try:
        with recorded_as(principal, "rebuild", arguments):
            asyncio.run(_run(run, projection))
    except RebuildError as error:
        run.outcome, run.state = str(error), "failed"
    except Exception as error:
        run.outcome, run.state = f"the rebuild stopped: {reason(error)}", "failed"


async def _run(run: RebuildRun, projection: type[Projection]) -> None:
    conninfo = DatabaseSettings().role_conninfo(projection.role())
    async with await AsyncConnection[Any].connect(conninfo, autocommit=True) as conn:
        run.total = (await plan_rebuild(conn, projection)).total_events

    def advance(applied: int) -> None:
        run.applied += applied

    report = await rebuild(projection, conninfo, advance)
    run.applied = report.applied
    run.total = max(run.total, report.applied)
    run.outcome = (
        f"rebuilt into {report.plan.new_schema}: {report.applied:,} events in"
        f" {report.seconds:.1f}s; readers switched; dropped {report.plan.active_schema}"
    )
    run.state = "finished"
