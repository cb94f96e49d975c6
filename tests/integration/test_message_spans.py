"""On a real nats-server: the relay's publish is a PRODUCER span whose context the
message carries, failed when the server refuses the message; the shared pull consumer
handles the message in a CONSUMER span that is its child."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg
from nats.js.errors import NoStreamResponseError
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from eventstore.contexts import ACCOUNTS
from eventstore.envelope import H_EXPECTED_LAST_MSG_ID, H_MSG_ID
from eventstore.message_spans import publish_traced
from eventstore.pull_consumer import PullConsumer
from eventstore.trace_context import TRACEPARENT, active_traceparent
from tests.support.recorded_spans import recorded_spans
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

REQUEST = "00-5ca1ab1e00000000000000000000000a-00000000000000a1-01"
SUBJECT = ACCOUNTS.subject("MoneyDeposited.v1")


def traceparent_of(span: ReadableSpan) -> str:
    ids = span.get_span_context()
    assert ids is not None
    return f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"


async def publish_then_consume(nats_url: str) -> tuple[str, str | None]:
    """Publish as the relay does: one message the stream takes, one no stream takes (the
    server answers so), one it refuses (it expects a predecessor that is not there: nats-py
    never completes such a publish, and the relay gives up on it). Then consume the first.
    The traceparent the stream holds, and the one active while the consumer handled it."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        taken = {H_MSG_ID: ACCOUNTS.msg_id(1), TRACEPARENT: REQUEST}
        await (await publish_traced(js.publish_async, SUBJECT, b"{}", taken))
        streamless = {H_MSG_ID: "nowhere:1", TRACEPARENT: REQUEST}
        with pytest.raises(NoStreamResponseError):
            await (await publish_traced(js.publish_async, "nowhere.X.v1", b"{}", streamless))
        refused = {
            H_MSG_ID: ACCOUNTS.msg_id(3),
            H_EXPECTED_LAST_MSG_ID: ACCOUNTS.msg_id(2),
            TRACEPARENT: REQUEST,
        }
        (await publish_traced(js.publish_async, SUBJECT, b"{}", refused)).cancel()
        stored = await js.get_msg(ACCOUNTS.stream, seq=1)
        return (stored.headers or {})[TRACEPARENT], await consume_one(js)
    finally:
        await nc.close()


async def consume_one(js: nats.js.JetStreamContext) -> str | None:
    consumer = PullConsumer("trace_test", ACCOUNTS, 8, 5.0, max_ack_pending=8)
    subscription = await consumer.subscribe(js)
    stop, seen = asyncio.Event(), []

    async def handle(messages: list[Msg]) -> None:
        seen.append(active_traceparent())
        stop.set()

    await asyncio.wait_for(consumer.consume(subscription, handle, stop), timeout=30)
    return seen[0]


def test_a_message_carries_its_publish_span_and_is_handled_in_a_child_of_it(
    stack: Stack,
) -> None:
    with recorded_spans() as spans:
        carried, handled_in = asyncio.run(publish_then_consume(stack.nats_url))

    published, streamless, refused, consumed = sorted(
        spans.get_finished_spans(), key=lambda s: s.start_time or 0
    )
    assert (published.kind, published.name) == (SpanKind.PRODUCER, f"publish {SUBJECT}")
    assert published.parent is not None and f"{published.parent.span_id:016x}" in REQUEST
    assert published.status.status_code is StatusCode.UNSET
    assert carried == traceparent_of(published)
    assert streamless.status.status_code is StatusCode.ERROR
    assert (streamless.status.description or "").startswith("NoStreamResponseError")
    assert refused.status.status_code is StatusCode.ERROR
    assert refused.status.description == "CancelledError: never acknowledged"
    assert consumed.kind is SpanKind.CONSUMER and consumed.parent is not None
    assert (consumed.parent.trace_id, consumed.parent.span_id) == (
        published.context.trace_id,
        published.context.span_id,
    )
    assert handled_in == traceparent_of(consumed)
