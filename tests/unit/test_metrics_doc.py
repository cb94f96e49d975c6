"""docs/architecture.md lists every Paystream metric as the code defines it: the table
between its markers is the one rendered here from the metric objects themselves (name,
type, labels, who serves it, meaning), and no metric of the process is missing from it."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from api import consistency_metrics, http_metrics
from eventstore import relay_metrics, store_metrics
from projections import projector_metrics
from saga import saga_metrics

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
BEGIN = "<!-- metrics table: tests/unit/test_metrics_doc.py renders it; keep in step -->"
END = "<!-- end of metrics table -->"
# Each module of metrics, and the services whose /metrics show its series.
SERVED_BY: dict[str, ModuleType] = {
    "every service": http_metrics,
    "command APIs, saga": store_metrics,
    "query APIs": consistency_metrics,
    "relays": relay_metrics,
    "projectors": projector_metrics,
    "saga": saga_metrics,
}
# Between them, the composition roots import every module that defines a metric.
ROOTS = tuple(
    f"scripts.composition.{root}"
    for root in ("command_apis", "query_apis", "overview_api", "issuer", "saga", "workers")
)
# Histograms of counts, not of time (every other one is in seconds).
COUNTS = {
    "paystream_event_store_events_per_append",
    "paystream_event_store_commands_per_commit",
    "paystream_projection_batch_size",
}


def defined() -> list[tuple[str, MetricWrapperBase]]:
    return [
        (where, metric)
        for where, module in SERVED_BY.items()
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
    ]


def exposed_name(metric: MetricWrapperBase) -> str:
    name: str = metric._name
    return f"{name}_total" if metric._type == "counter" else name


def row(where: str, metric: MetricWrapperBase) -> str:
    labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "-"
    cells = (f"`{exposed_name(metric)}`", str(metric._type), labels, where, metric._documentation)
    return "| " + " | ".join(cells) + " |"


def table() -> str:
    header = "| metric | type | labels | served by | meaning |\n|---|---|---|---|---|"
    return "\n".join([header, *(row(where, metric) for where, metric in defined())])


def documented() -> str:
    text = DOC.read_text()
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_the_documented_table_is_the_one_the_code_defines() -> None:
    assert documented() == table(), f"replace the table in {DOC.name} with:\n{table()}"


def test_every_paystream_metric_of_the_process_is_in_the_table() -> None:
    for root in ROOTS:
        importlib.import_module(root)
    registered = {f.name for f in REGISTRY.collect() if f.name.startswith("paystream_")}
    assert registered == {metric._name for _, metric in defined()}


def test_names_follow_the_conventions() -> None:
    for _, metric in defined():
        name = exposed_name(metric)
        assert name.startswith("paystream_"), name
        if (metric._type == "histogram" and "duration" in name) or "wait" in name:
            assert name.endswith("_seconds"), name
