"""One context's hash chains verified in one pass (what `paystream audit verify` and the
console's audit page run): every link checked in (aggregate, version) order, each
broken link and the progress handed to the caller as they come."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from eventstore import chain_check
from eventstore.chain_check import BrokenLink, ChainChecker, Head
from eventstore.contexts import Context

PROGRESS_STEP = 1_000  # events between two progress updates

Progress = Callable[[int, int], None]  # events checked so far, events in all


def verify_chains(
    conn: psycopg.Connection[Any],
    context: Context,
    on_broken_link: Callable[[BrokenLink], None],
    on_progress: Progress,
    heads: dict[UUID, Head] | None = None,
    covered_up_to: int = 0,
) -> ChainChecker:
    """Check every chain of `context` on `conn` (against a checkpoint's `heads`, up to its
    max position `covered_up_to`, when given); the checker says how many were checked."""
    checker = ChainChecker(on_broken_link, heads, covered_up_to)
    total = chain_check.count_events(conn, context)
    on_progress(0, total)
    for link in chain_check.stream_links(conn, context):
        checker.check(link)
        if checker.events % PROGRESS_STEP == 0:
            on_progress(checker.events, total)
    on_progress(checker.events, total)
    checker.finish()
    return checker
