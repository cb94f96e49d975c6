"""Tracing is set up from the standard OTEL_* variables only: nothing without them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from scripts.cli.errors import CANNOT_RUN
from scripts.composition.trace_sampling import default_sampler
from scripts.composition.tracing import (
    exporter_names,
    span_exporters,
    start_tracing,
    tracer_provider,
)
from scripts.devstack.embedded import free_port

COLLECTOR = "http://collector.example:4318"


@pytest.fixture(autouse=True)
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment that names no OTEL_* variable."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)


def test_without_any_otel_variable_nothing_is_exported_or_set_up() -> None:
    assert exporter_names() == []
    assert span_exporters() == []
    assert start_tracing("payments-api") is False
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_an_otlp_endpoint_turns_the_otlp_exporter_on(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, COLLECTOR)

    (exporter,) = span_exporters()

    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint.startswith(COLLECTOR)


def test_otel_traces_exporter_names_the_exporters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, otlp")

    kinds = [type(exporter) for exporter in span_exporters()]

    assert kinds == [ConsoleSpanExporter, OTLPSpanExporter]


@pytest.mark.parametrize(
    ("variable", "value"), [("OTEL_TRACES_EXPORTER", "none"), ("OTEL_SDK_DISABLED", "true")]
)
def test_tracing_can_be_turned_off_with_an_endpoint_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", COLLECTOR)
    monkeypatch.setenv(variable, value)

    assert exporter_names() == []


def test_an_unknown_exporter_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,jaeger")

    with pytest.raises(ValueError, match="unknown exporter 'jaeger'"):
        start_tracing("saga")


def test_a_service_asked_for_an_unknown_exporter_does_not_start() -> None:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "jaeger"}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cli.serve", "saga", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == CANNOT_RUN
    assert done.stderr.strip().startswith("error: OTEL_TRACES_EXPORTER: unknown exporter 'jaeger'")


def test_otlp_over_grpc_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", COLLECTOR)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

    with pytest.raises(ValueError, match="'grpc' is not supported; use http/protobuf"):
        start_tracing("saga")


def test_the_service_is_named_after_the_process_unless_otel_service_name_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named = tracer_provider("relay-accounts", []).resource.attributes[SERVICE_NAME]
    monkeypatch.setenv("OTEL_SERVICE_NAME", "relay-accounts-eu")
    renamed = tracer_provider("relay-accounts", []).resource.attributes[SERVICE_NAME]

    assert (named, renamed) == ("relay-accounts", "relay-accounts-eu")


def sampled(kind: SpanKind, parent: Context | None = None) -> bool:
    decision = default_sampler().should_sample(parent, 0x5CA1AB1E, "span", kind).decision
    return decision is Decision.RECORD_AND_SAMPLE


def test_a_lone_client_call_starts_no_trace_but_joins_one() -> None:
    parent = SpanContext(0x5CA1AB1E, 0xAA, is_remote=True, trace_flags=TraceFlags(1))
    in_a_trace = trace.set_span_in_context(NonRecordingSpan(parent))

    assert not sampled(SpanKind.CLIENT)
    assert sampled(SpanKind.CLIENT, in_a_trace)
    assert sampled(SpanKind.SERVER) and sampled(SpanKind.PRODUCER) and sampled(SpanKind.CONSUMER)
