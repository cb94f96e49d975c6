"""compose.yaml's Grafana dashboard and Prometheus alert rules are well formed, and every
metric they query is one the code defines (read from the metric objects of each
module of metrics, not from a list kept by hand).

promtool is not available here, so PromQL is not parsed: a small regex takes the metric
names out of each expression, after label matchers, grouping clauses, ranges and
strings are removed, and leaves out function names and operators."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from api import consistency_metrics, http_metrics
from eventstore import relay_metrics, store_metrics
from projections import projector_metrics
from saga import saga_metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "paystream.json"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
METRIC_MODULES: tuple[ModuleType, ...] = (
    http_metrics,
    consistency_metrics,
    store_metrics,
    relay_metrics,
    projector_metrics,
    saga_metrics,
)
# Series of Prometheus itself, not of any Paystream process.
PROMETHEUS_OWN = {"up"}
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum", ""),
}
# Removed before names are read: {label matchers}, [ranges], "strings", and the label
# lists of by/without/on/ignoring/group_left/group_right.
NOT_NAMES = re.compile(
    r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"|'
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
)
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*(?![A-Za-z0-9_:(])(?!\s*\()")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")


def series_names() -> set[str]:
    """Every series name the Paystream processes expose."""
    return {
        metric._name + suffix
        for module in METRIC_MODULES
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
        for suffix in SUFFIXES[str(metric._type)]
    }


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    stripped = NOT_NAMES.sub(" ", expr)
    stripped = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", stripped)
    return {name for name in IDENTIFIER.findall(stripped) if name.lower() not in KEYWORDS}


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def test_the_name_regex_reads_names_and_leaves_functions_labels_and_ranges() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (service, le) (rate(a_bucket{route!~"/x|/y"}[5m])))'
        " / on (service) group_left b_total > 1e3 and changes(c[1m]) == 0 or up"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c", "up"}


def test_the_dashboard_is_grafana_json_on_the_provisioned_prometheus() -> None:
    document = dashboard()
    [datasource] = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert document["uid"] and document["title"] and document["panels"]
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    for panel in document["panels"]:
        assert panel["title"] and panel["type"] and panel["gridPos"], panel
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], panel["title"]


@pytest.mark.parametrize(
    "topic", ["throughput", "latency p99", "lag", "dead letters", "saga outcomes"]
)
def test_the_dashboard_shows(topic: str) -> None:
    titles = [panel["title"].lower() for panel in dashboard()["panels"]]
    assert any(topic in title for title in titles), titles


def test_every_rule_has_expr_for_labels_and_annotations() -> None:
    found = rules()
    assert {rule["alert"] for rule in found} >= {
        "ProjectionLagging",
        "ProjectionHalted",
        "CircuitBreakerOpen",
        "PaymentsOverdue",
    }
    for rule in found:
        assert rule["expr"].strip(), rule["alert"]
        assert DURATION.match(str(rule["for"])), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_lag_rule_fires_after_a_minute() -> None:
    [lagging] = [rule for rule in rules() if rule["alert"] == "ProjectionLagging"]
    assert lagging["for"] == "1m"
    assert "paystream_projection_lag_events" in lagging["expr"]


@pytest.mark.parametrize("where", ["dashboard", "rules"])
def test_every_metric_queried_exists(where: str) -> None:
    exprs = dashboard_exprs() if where == "dashboard" else [rule["expr"] for rule in rules()]
    used = set().union(*(metric_names(expr) for expr in exprs))
    assert len(used) > 3, used  # the regex found names at all
    assert used - series_names() - PROMETHEUS_OWN == set()
