"""JetStream streams: one per context, file storage, de-duplication by message id."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from eventstore.contexts import Context
from eventstore.settings import NatsSettings


def stream_config(context: Context, replicas: int | None = None) -> StreamConfig:
    """The context's stream; `replicas` defaults to NATS_STREAM_REPLICAS (1 if unset)."""
    settings = NatsSettings()
    return StreamConfig(
        name=context.stream,
        subjects=[f"{context.subject_prefix}.>"],
        storage=StorageType.FILE,
        duplicate_window=settings.nats_duplicate_window_seconds,
        num_replicas=replicas or settings.nats_stream_replicas,
    )


async def ensure_stream(
    js: JetStreamContext, context: Context, replicas: int | None = None
) -> None:
    """Create the context's stream, or bring an existing one to the expected config."""
    config = stream_config(context, replicas)
    try:
        await js.stream_info(context.stream)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
