"""Tracing for one service process, from the standard OTEL_* variables only.

Nothing is set up, and no span is recorded or exported, unless an exporter is asked for:
OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (OTLP over
http/protobuf), or OTEL_TRACES_EXPORTER (`otlp`, `console`, or `none` to turn tracing off
whatever else is set); OTEL_SDK_DISABLED=true turns it off too. The SDK itself reads the
rest (OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
KNOWN_EXPORTERS = ("otlp", "console", "none")
# Health, readiness, status and metrics are polled all the time: no trace for them.
UNTRACED_PATHS = "/(healthz|readyz|status|metrics)$"


def exporter_names() -> list[str]:
    """The span exporters the environment asks for; none when no variable says so."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not named:
        return ["otlp"] if any(os.environ.get(name) for name in ENDPOINTS) else []
    names = [name.strip() for name in named.split(",") if name.strip()]
    unknown = sorted(set(names) - set(KNOWN_EXPORTERS))
    if unknown:
        known = ", ".join(KNOWN_EXPORTERS)
        raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {unknown[0]!r} (known: {known})")
    return [] if "none" in names else names


def span_exporters() -> list[SpanExporter]:
    """The exporters named by the environment, configured by it."""
    exporters: list[SpanExporter] = []
    for name in exporter_names():
        if name == "otlp":
            exporters.append(otlp_exporter())
        else:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
    return exporters


def otlp_exporter() -> SpanExporter:
    """OTLP over HTTP with protobuf; the endpoint, headers and timeout from OTEL_*."""
    protocol = next((os.environ[name] for name in PROTOCOLS if os.environ.get(name)), None)
    if protocol not in (None, "http/protobuf"):
        raise ValueError(f"OTLP protocol {protocol!r} is not supported; use http/protobuf")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracer_provider(service: str, exporters: list[SpanExporter]) -> TracerProvider:
    """A provider exporting in batches, named `service` unless OTEL_SERVICE_NAME (or
    OTEL_RESOURCE_ATTRIBUTES) says otherwise."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from scripts.composition.trace_sampling import default_sampler

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "unknown_service")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service}))
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else default_sampler()
    provider = TracerProvider(resource=resource, sampler=sampler)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def start_tracing(service: str) -> bool:
    """Trace this process as `service` when the environment asks for it: server spans
    for FastAPI apps built from now on, client spans for httpx and psycopg, context
    passed on in outgoing requests. Whether tracing is on."""
    exporters = span_exporters()
    if not exporters:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    provider = tracer_provider(service, exporters)
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor().instrument(
        excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"]
    )
    HTTPXClientInstrumentor().instrument()
    PsycopgInstrumentor().instrument()
    return True
