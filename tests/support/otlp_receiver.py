"""An OTLP/HTTP trace receiver in the test process: the services export their spans to it
(OTEL_EXPORTER_OTLP_ENDPOINT) as they would to a collector, and tests read them back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from scripts.benchmarks.otlp_sink import OtlpEndpoint


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span: who made it, where it sits in its trace, what it links to."""

    service: str
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER or INTERNAL
    trace_id: str
    span_id: str
    parent_id: str  # empty for the first span of a trace
    start_ns: int
    links: tuple[tuple[str, str], ...]  # (trace id, span id) of each span linked to
    attributes: dict[str, str]  # those whose values are strings (or bytes, decoded)

    def statement(self) -> str:
        """The SQL of a database span (under either name the conventions have had)."""
        return self.attributes.get("db.query.text") or self.attributes.get("db.statement", "")


def text_of(value: AnyValue) -> str:
    """A string attribute's value, or a bytes one's as text (psycopg's SQL may be bytes)."""
    return value.string_value or value.bytes_value.decode(errors="replace")


def received(service: str, span: Span) -> ReceivedSpan:
    return ReceivedSpan(
        service=service,
        name=span.name,
        kind=Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        start_ns=span.start_time_unix_nano,
        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
        attributes={a.key: text for a in span.attributes if (text := text_of(a.value))},
    )


def spans_of(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    """Every span of an export, with the service.name of the process that made it."""
    spans = []
    for resource_spans in request.resource_spans:
        attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        service = attributes.get("service.name", "")
        for scope_spans in resource_spans.scope_spans:
            spans += [received(service, span) for span in scope_spans.spans]
    return spans


class OtlpReceiver:
    """Keeps every span posted to http://127.0.0.1:<port>/v1/traces."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self.server = OtlpEndpoint(self._keep)

    @property
    def endpoint(self) -> str:
        return self.server.url

    def environment(self) -> dict[str, str]:
        """What a service needs to export its spans here, within a tenth of a second: the
        spans of traces a caller asked for (a sampled `traceparent`) and nothing else, so
        the suite's other requests pay next to nothing for tracing."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_TRACES_SAMPLER": "parentbased_always_off",
        }

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def _keep(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self._lock:
            self._spans += spans_of(request)


@contextmanager
def running_receiver() -> Iterator[OtlpReceiver]:
    """A receiver answering on its port for the block."""
    receiver = OtlpReceiver()
    with receiver.server.serving():
        yield receiver
