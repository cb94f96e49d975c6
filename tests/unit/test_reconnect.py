"""keep_running: a worker whose connection is lost runs again, with capped jittered
backoff, until it is stopped; once connected again the backoff starts over."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest
from nats import errors as nats_errors

from eventstore.reconnect import Backoff, is_connection_lost, keep_running


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(initial=0.2, cap=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.2, 0.4, 0.8, 1.6, 3.2, 4.0, 4.0, 4.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.2


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("the connection is lost"),
        nats_errors.NoServersError(),
        ConnectionRefusedError(),
        ExceptionGroup("tasks", [psycopg.OperationalError("x"), OSError("y")]),
    ],
)
def test_lost_connections_are_recognised(error: BaseException) -> None:
    assert is_connection_lost(error)


@pytest.mark.parametrize(
    "error", [KeyError("bug"), ExceptionGroup("tasks", [OSError("y"), ValueError("bug")])]
)
def test_bugs_are_not_lost_connections(error: BaseException) -> None:
    assert not is_connection_lost(error)


def test_a_failing_worker_runs_again_until_it_is_connected_then_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    state = {"connected": False}

    async def work(stop: asyncio.Event) -> None:
        runs.append(len(runs))
        if len(runs) < 4:
            raise psycopg.OperationalError("connection refused")
        state["connected"] = True
        await stop.wait()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            keep_running(
                work,
                stop,
                what="projector x",
                log=logging.getLogger("t"),
                connected=lambda: state["connected"],
                backoff=Backoff(initial=0.01, cap=0.02),
            )
        )
        while "recovered" not in caplog.text:  # noqa: ASYNC110 - polls the log it tests
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    with caplog.at_level(logging.INFO):
        asyncio.run(asyncio.wait_for(scenario(), 10))
    assert len(runs) == 4
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == "projector x failed: OperationalError: connection refused"
    assert messages[-1].startswith("projector x recovered after")
    assert "(3 failures" in messages[-1]
    assert len(messages) == 2
