"""Which traces are kept when OTEL_TRACES_SAMPLER does not say: every trace a request, a
published event or a handled message starts, none that a lone database query or HTTP
call would start (the relay's and the saga's polling, readiness probes)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes


class NoLoneCalls(Sampler):
    """Samples every new trace but one whose first span is a client call."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        chosen = ALWAYS_OFF if kind is SpanKind.CLIENT else ALWAYS_ON
        return chosen.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "NoLoneCalls"


def default_sampler() -> Sampler:
    """Children follow their parent's decision; new traces as NoLoneCalls decides."""
    return ParentBased(root=NoLoneCalls())
