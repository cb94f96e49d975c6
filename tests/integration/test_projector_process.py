"""The projector applies every event exactly once across crashes and lost messages."""

from __future__ import annotations

import asyncio

import nats
import pytest

from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from projections.tracking import WHOLE
from tests.support.stack import Stack, wait_until
from tests.support.workload import (
    BackgroundWriter,
    accounts_service,
    folded_rows,
    kill_mid_work,
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

    killed = kill_mid_work(
        projector.kill,
        lambda: tracked_position(stack),
        lambda: stack.max_position(ACCOUNTS),
        writer,
    )
    assert killed.stored > killed.done, "the projector was killed with events left to apply"
    at_kill = tracked_position(stack)  # what its last committed batch reached
    restarted = stack.start("projector-account-summary")
    ids = writer.finish()
    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 60, "the projector to catch up")

    assert summary_rows(stack) == folded_rows(service, ids)
    assert projector_status(restarted.url)["applied"] >= final - at_kill, "the restart applied"


def test_a_stream_delivered_again_from_its_start_changes_nothing(stack: Stack) -> None:
    """JetStream redelivers every message (the projector's durable consumer is gone, so a
    new one starts at the stream's first message): each is a duplicate and is skipped."""
    service = accounts_service(stack)
    stack.start("relay-accounts")
    projector = stack.start("projector-account-summary")
    ids = write_events(service, accounts=3, movements=40, seed=5)
    final = stack.max_position(ACCOUNTS)
    wait_until(lambda: tracked_position(stack) >= final, 30, "the projector to catch up")
    before = summary_rows(stack)
    projector.stop()
    delete_consumer(stack, projector_consumer_name())

    restarted = stack.start("projector-account-summary")
    wait_until(
        lambda: projector_status(restarted.url)["skipped_duplicates"] >= final,
        30,
        "every message to be delivered again",
    )

    status = projector_status(restarted.url)
    assert (status["applied"], status["skipped_duplicates"]) == (0, final)
    assert summary_rows(stack) == before == folded_rows(service, [*before])
    assert set(ids) <= set(before)


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


def projector_consumer_name() -> str:
    return AccountSummaryProjection.consumer_name() + WHOLE.suffix


def delete_consumer(stack: Stack, name: str) -> None:
    async def delete() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            await nc.jetstream().delete_consumer(ACCOUNTS.stream, name)
        finally:
            await nc.close()

    asyncio.run(delete())


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
