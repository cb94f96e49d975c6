"""`paystream bench observability` and `paystream bench sealing`: what metrics and
tracing, and what sealing personal data, cost `paystream bench commands`, in one run on
the same data.

One stack of its own (scripts/benchmarks/commands_stack.py) under a temporary
directory. Four configurations of the accounts command API, its relay, the
account_summary projector and the account summary query API: baseline (metrics off,
tracing off), metrics on, tracing on, both on. Tracing on is every request traced
(OTEL_TRACES_SAMPLER=always_on) and exported over OTLP/HTTP to an endpoint in this
process that discards the spans (scripts/benchmarks/otlp_sink.py). The services are
restarted for each configuration (their environment differs); each round runs every
configuration, in reverse order every other round, so drift on the machine hits all
alike. Each run is the commands bench's two phases (scripts/benchmarks/commands.py) as a
new customer with accounts of its own. A configuration is checked to be what it says:
/metrics answers 200 on every service with metrics on and 404 with them off, spans
reach the endpoint with tracing on and none with it off, and the owner names of the
accounts the run opened are stored sealed with sealing on and plaintext with it off.

`bench sealing` compares sealed (the default) with PAYSTREAM_SEAL_PERSONAL_DATA=off,
metrics and tracing off in both. The commands bench's deposits carry no personal field:
what it can show is the cost of the sealed owner in each account's snapshots and of the
opens (each seals one owner) before phase 1.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from rich import box
from rich.console import Console
from rich.table import Table

from eventstore.personal_data.field_cipher import is_sealed
from eventstore.personal_fields import ACCOUNT_OPENED
from eventstore.sealed_postgres import SEALING_VARIABLE
from scripts.benchmarks.commands import CommandFigures, measure_commands
from scripts.benchmarks.commands_stack import (
    BENCHED,
    COMMAND_API,
    QUERY_API,
    CommandsStack,
    commands_stack,
)
from scripts.benchmarks.gateway_stack import UnexpectedAnswer
from scripts.benchmarks.latency import percentile
from scripts.benchmarks.otlp_sink import discarding_otlp_endpoint

Customer = Callable[[Path], str]  # a new customer's token, from the issuer's directory


@dataclass(frozen=True)
class Configuration:
    name: str
    metrics: bool
    tracing: bool
    sealing: bool = True

    def env(self, otlp_endpoint: str) -> dict[str, str]:
        """What the services are started with."""
        env = {"PAYSTREAM_METRICS": "on" if self.metrics else "off"}
        if not self.sealing:
            env[SEALING_VARIABLE] = "off"
        if self.tracing:
            env |= {
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
                "OTEL_TRACES_SAMPLER": "always_on",
            }
        return env


BASELINE = Configuration("baseline", metrics=False, tracing=False)
CONFIGURATIONS = (
    BASELINE,
    Configuration("metrics", metrics=True, tracing=False),
    Configuration("tracing", metrics=False, tracing=True),
    Configuration("metrics+tracing", metrics=True, tracing=True),
)
SEALED = Configuration("sealed", metrics=False, tracing=False)
SEALING_CONFIGURATIONS = (SEALED, Configuration("plaintext", False, False, sealing=False))


@dataclass(frozen=True)
class Plan:
    clients: int
    seconds: float
    rounds: int


def round_order(
    round_number: int, configurations: tuple[Configuration, ...] = CONFIGURATIONS
) -> tuple[Configuration, ...]:
    """The configurations of round 1, 2, ...: as listed, then reversed, and so on."""
    return configurations if round_number % 2 else tuple(reversed(configurations))


def run_observability_bench(
    plan: Plan,
    console: Console,
    customer: Customer,
    configurations: tuple[Configuration, ...] = CONFIGURATIONS,
) -> None:
    """Run every configuration `plan.rounds` times and print one table (the first
    configuration is the baseline)."""
    load_before = os.getloadavg()
    runs: dict[str, list[CommandFigures]] = {c.name: [] for c in configurations}
    with (
        tempfile.TemporaryDirectory(prefix="paystream-bench-observability-") as folder,
        discarding_otlp_endpoint() as sink,
        commands_stack(Path(folder), console) as stack,
    ):
        for round_number in range(1, plan.rounds + 1):
            for configuration in round_order(round_number, configurations):
                where = f"round {round_number}/{plan.rounds}, {configuration.name}"
                exports = sink.exports
                with console.status(f"{where}: starting the services..."):
                    stack.start_services(configuration.env(sink.url))
                try:
                    check_metrics(stack, configuration)
                    opened_before = stored_owners(stack)
                    figures = measure_commands(
                        stack.url(COMMAND_API),
                        stack.url(QUERY_API),
                        plan.clients,
                        plan.seconds,
                        console,
                        customer(stack.issuer_dir),
                        title=f"{where}: ",
                    )
                    runs[configuration.name].append(asyncio.run(figures))
                    check_sealing(configuration, stored_owners(stack)[len(opened_before) :])
                finally:
                    stack.stop_services()  # the last spans are exported as each stops
                check_tracing(configuration, sink.exports - exports)
                console.print(f"{where}: {runs[configuration.name][-1].per_second:.0f} commands/s")
    console.print(table(runs, configurations))
    console.print(how(plan, load_before, configurations), highlight=False, soft_wrap=True)


HEADINGS = (
    "commands/s",
    "rounds",
    "cmd p50",
    "cmd p99",
    "visible p50",
    "visible p99",
    "failed",
    "vs baseline",
)


def check_metrics(stack: CommandsStack, configuration: Configuration) -> None:
    """Every service serves /metrics if the configuration has metrics on, else none."""
    expected = 200 if configuration.metrics else 404
    with httpx.Client(timeout=10) as http:
        for name in BENCHED:
            answered = http.get(f"{stack.url(name)}/metrics").status_code
            if answered != expected:
                raise UnexpectedAnswer(
                    f"{name} answered {answered} on /metrics, not {expected}, with metrics"
                    f" {'on' if configuration.metrics else 'off'} ({configuration.name})"
                )


def check_tracing(configuration: Configuration, exports: int) -> None:
    """Spans were exported if the configuration has tracing on, else none."""
    if configuration.tracing and not exports:
        raise UnexpectedAnswer(f"{configuration.name}: tracing on, yet no span was exported")
    if not configuration.tracing and exports:
        raise UnexpectedAnswer(f"{configuration.name}: tracing off, yet {exports} exports came")


def stored_owners(stack: CommandsStack) -> list[str]:
    """The owner of every account opened on the stack, as stored, oldest first."""
    with psycopg.connect(stack.admin_url) as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb ->> 'owner'"
            " FROM accounts.accounts_events WHERE topic = %s ORDER BY notification_id",
            (ACCOUNT_OPENED,),
        ).fetchall()
    return [str(row[0]) for row in rows]


def check_sealing(configuration: Configuration, owners: list[str]) -> None:
    """The owners the run stored are sealed if the configuration seals, else plaintext."""
    sealed = [owner for owner in owners if is_sealed(owner)]
    if not owners or len(sealed) != (len(owners) if configuration.sealing else 0):
        raise UnexpectedAnswer(
            f"{configuration.name}: {len(sealed)} of the {len(owners)} owners stored were"
            f" sealed, with sealing {'on' if configuration.sealing else 'off'}"
        )


def table(
    runs: dict[str, list[CommandFigures]],
    configurations: tuple[Configuration, ...] = CONFIGURATIONS,
) -> Table:
    """One row per configuration: commands/s (median over rounds, and each round's),
    command latency and time to visibility (percentiles over every round's samples),
    failed requests, and the median commands/s against the baseline's (the first)."""
    switched = "sealing" if configurations == SEALING_CONFIGURATIONS else "metrics and tracing"
    shown = Table(
        title=f"paystream bench commands with {switched} off and on",
        caption="commands/s: median over rounds (each round's after it); latencies in ms",
        box=box.SIMPLE_HEAD,
    )
    shown.add_column("configuration", no_wrap=True)
    for heading in HEADINGS:
        shown.add_column(heading, justify="right", no_wrap=True)
    baseline = median_rate(runs[configurations[0].name])
    for name, figures in runs.items():
        rate = median_rate(figures)
        latency = [ms for run in figures for ms in run.throughput.latency_ms]
        visible = [ms for run in figures for ms in run.visibility.visibility_ms]
        failed = sum(run.throughput.failed + run.visibility.failed for run in figures)
        shown.add_row(
            name,
            f"{rate:.0f}",
            ", ".join(f"{run.per_second:.0f}" for run in figures),
            at(latency, 50),
            at(latency, 99),
            at(visible, 50),
            at(visible, 99),
            str(failed),
            f"{rate / baseline:.2f}" if baseline else "-",
        )
    return shown


def median_rate(figures: list[CommandFigures]) -> float:
    return statistics.median(run.per_second for run in figures) if figures else 0.0


def at(samples: list[float], percent: float) -> str:
    return f"{percentile(samples, percent):.1f}" if samples else "-"


def how(
    plan: Plan,
    load_before: tuple[float, float, float],
    configurations: tuple[Configuration, ...] = CONFIGURATIONS,
) -> str:
    load_after = os.getloadavg()
    if configurations == SEALING_CONFIGURATIONS:
        detail = (
            "sealed: owner names sealed (AES-256-GCM) as stored; plaintext:"
            f" {SEALING_VARIABLE}=off; metrics and tracing off in both; phase 1's deposits"
            " carry no personal field (each account's open, before it, seals its owner)"
        )
    else:
        detail = (
            "tracing: every request traced (always_on), spans exported over OTLP/HTTP to an"
            " endpoint in this process that discards them"
        )
    return (
        f"machine: {os.cpu_count()} cores ({platform.machine()}, {platform.system()}),"
        f" load average {load_before[0]:.2f} before, {load_after[0]:.2f} after;"
        f" {plan.clients} clients, {plan.seconds:g}s per phase, {plan.rounds} round(s),"
        " configurations in reverse order every other round, services restarted for each; " + detail
    )
