"""The projector applies every event exactly once across crashes and lost messages."""

from __future__ import annotations

import asyncio

import nats
import pytest

from eventstore.contexts import ACCOUNTS
from tests.stack import Stack, wait_until
from tests.workload import (
    BackgroundWriter,
    accounts_service,
    folded_rows,
    summary_rows,
    tracked_position,
    write_events,
)

pytestmark = pytest.mark.integration


def test_read_model_equals_fold_across_projector_kill_9(stack: Stack) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    projector = stack.start("projector-account-summary")
    writer = BackgroundWriter(service, accounts=15, movements=1200)
    writer.start()
    wait_until(lambda: tracked_position(stack) >= 200, 60, "the projector to apply 200 events")
    projector.kill()
    stack.start("projector-account-summary")
    ids = writer.finish()
    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the projector to catch up")

    assert summary_rows(stack) == folded_rows(service, ids)


def test_a_message_missing_from_the_stream_is_repaired_from_the_event_store(
    stack: Stack,
) -> None:
    service = accounts_service(stack)
    stack.start("relay-accounts")
    ids = write_events(service, accounts=3, movements=30, seed=11)
    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: stream_last_position(stack) >= final, 30, "the relay to publish")
    before = tracked_position(stack)
    delete_message_at(stack, position=before + 2)

    projector = stack.start("projector-account-summary")
    wait_until(lambda: tracked_position(stack) >= final, 30, "the projector to catch up")

    assert summary_rows(stack) == folded_rows(service, [*summary_rows(stack)])
    assert set(ids) <= set(summary_rows(stack))
    status = projector_status(projector.url)
    assert status["repaired"] >= 1


def projector_status(url: str) -> dict[str, int]:
    import httpx

    body: dict[str, int] = httpx.get(f"{url}/status", timeout=5).json()
    return body


def stream_last_position(stack: Stack) -> int:
    positions = stack.stream_positions(ACCOUNTS)
    return positions[-1] if positions else 0


def delete_message_at(stack: Stack, position: int) -> None:
    """Remove the message carrying `position` from the stream, as if it had been lost."""

    async def delete() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(ACCOUNTS.stream)
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(ACCOUNTS.stream, seq=seq)
                if int((message.headers or {})["Paystream-Position"]) == position:
                    await js.delete_msg(ACCOUNTS.stream, seq)
                    return
            raise AssertionError(f"no message at position {position}")
        finally:
            await nc.close()

    asyncio.run(delete())
