"""kill -9 of a process in the middle of its group commits: every append it was told
was stored is stored, no append is stored in part, and every hash chain verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from uuid import UUID

import pytest

from eventstore.chain_check import BrokenLink, ChainChecker, stream_links
from eventstore.contexts import Context
from tests.support.group_commit_writer import EVENTS_PER_APPEND
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

ACKNOWLEDGED_BEFORE_KILL = 400


def test_kill_9_mid_group_loses_no_acknowledged_append_and_stores_none_in_part(
    stack: Stack,
) -> None:
    schema = "group_commit_kill"
    with stack.admin() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    command = ["-m", "tests.support.group_commit_writer", stack.db.admin_conninfo(), schema]
    writer = subprocess.Popen(
        [sys.executable, *command, "16"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    acknowledged: list[tuple[UUID, int, int]] = []
    groups: list[int] = []
    try:
        for line in writer.stdout:
            fields = line.split()
            if fields[0] == "group":
                groups.append(int(fields[1]))
                continue
            acknowledged.append((UUID(fields[0]), int(fields[1]), int(fields[2])))
            if len(acknowledged) == ACKNOWLEDGED_BEFORE_KILL:
                os.kill(writer.pid, signal.SIGKILL)
                break
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert len(acknowledged) == ACKNOWLEDGED_BEFORE_KILL, "the writer ended before the kill"
    assert max(groups) > 1, "no appends shared a commit"

    context = Context(schema)
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT originator_id, originator_version, notification_id"
            f" FROM {schema}.{context.events_table}"
        ).fetchall()
    stored = {(row[0], row[1]): row[2] for row in rows}
    for acked_id, acked_version, acked_position in acknowledged:
        found = stored.get((acked_id, acked_version))
        assert found == acked_position, "an acknowledged append is lost"
    versions: dict[UUID, list[int]] = defaultdict(list)
    for aggregate_id, version in stored:
        versions[aggregate_id].append(version)
    for aggregate_id, held in versions.items():
        assert sorted(held) == list(range(1, len(held) + 1)), f"{aggregate_id} has a gap"
        assert len(held) % EVENTS_PER_APPEND == 0, f"{aggregate_id} holds part of an append"

    broken: list[BrokenLink] = []
    checker = ChainChecker(broken.append)
    with stack.admin() as conn, conn.transaction():
        for link in stream_links(conn, context):
            checker.check(link)
    checker.finish()
    assert broken == []
    assert checker.events == len(stored)
