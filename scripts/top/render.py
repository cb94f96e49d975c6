"""A frame of `paystream top` as rich renderables: the alarms first, then the services,
the projections and the saga. Alarming states are red, wherever they are shown."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from scripts.devstack.layout import UP
from scripts.top.frame import Frame
from scripts.top.projection_states import HALTED, LIVE
from scripts.top.saga_state import HALF_OPEN, OPEN, SagaState

NONE = "-"


def per_second(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}/s"


def milliseconds(value: float | None) -> str:
    return NONE if value is None else f"{value * 1000:.1f} ms"


def number(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f} s"


def alarms(frame: Frame) -> RenderableType:
    if not frame.alarms:
        return Text("no alarms", style="bold green")
    return Group(*(Text(f"ALARM {alarm}", style="bold white on red") for alarm in frame.alarms))


def services(frame: Frame) -> Table:
    table = Table("service", "state", "requests", "errors", "p50", "p99", title="Services")
    for row in frame.services:
        style = "green" if row.readiness == UP else "bold red"
        errors_style = "red" if row.errors_per_second else ""
        table.add_row(
            row.name,
            Text(row.readiness, style=style),
            per_second(row.requests_per_second),
            Text(per_second(row.errors_per_second), style=errors_style),
            milliseconds(row.p50_seconds),
            milliseconds(row.p99_seconds),
        )
    return table


def projections(frame: Frame) -> Table:
    table = Table(
        "projection", "source", "position", "lag", "lag age", "state", title="Projections"
    )
    for row in frame.projections:
        style = (
            "green" if row.state == LIVE else "bold red" if row.state == HALTED else "bold yellow"
        )
        table.add_row(
            row.projection,
            row.source or NONE,
            number(row.position),
            number(row.lag_events),
            seconds(row.lag_seconds),
            Text(row.state, style=style),
        )
    return table


def saga(state: SagaState) -> Table:
    table = Table("payments in flight", "overdue", "circuit breakers", title="Saga")
    breakers = Text(", ").join(
        Text(f"{upstream} {name}", style=breaker_style(name))
        for upstream, name in sorted(state.breakers.items())
    )
    overdue_style = "bold red" if state.overdue else ""
    table.add_row(
        number(state.in_flight), Text(number(state.overdue), style=overdue_style), breakers or NONE
    )
    return table


def breaker_style(state: str) -> str:
    return "bold red" if state == OPEN else "bold yellow" if state == HALF_OPEN else "green"


def render(frame: Frame, heading: str) -> RenderableType:
    """The whole frame under `heading` (what is watched, and when)."""
    parts = [Text(heading, style="bold"), alarms(frame), services(frame), projections(frame)]
    return Group(*parts, saga(frame.saga))
