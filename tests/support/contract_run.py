"""Run schemathesis in process against one ASGI app's own /openapi.json; list what failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.python import asgi

from tests.support.contract_limits import is_contract_failure

# Every phase and check of `schemathesis run`; few examples per operation keep it short,
# `deterministic` (and the seed, and no example database) make it the same run every time.
SETTINGS: dict[str, Any] = {
    "seed": 8,
    "generation": {"max-examples": 8, "deterministic": True, "database": "none"},
    "output": {"sanitization": {"enabled": False}},
}


@dataclass
class ContractRun:
    """What one run found wrong (empty: nothing), and which statuses each operation gave."""

    failures: list[str]
    answered: set[tuple[str, int]]


def contract_failures(app: Any, headers: dict[str, str] | None = None) -> list[str]:
    """Every check failure and engine error of one run, one entry each (empty: none)."""
    return run_contract(app, headers=headers).failures


def run_contract(
    app: Any, settings: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> ContractRun:
    """Run every phase and check against `app`'s own /openapi.json (`settings` added),
    each request with the bearer token of `headers` (its Authorization), given to the
    schema's security scheme (so the generator does not replace it)."""
    config = schemathesis.Config.from_dict(SETTINGS | {"headers": headers or {}} | (settings or {}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.hook
    def filter_failure(
        context: HookContext, failure: Failure, case: Case[Any], response: Response
    ) -> bool:
        return is_contract_failure(failure, case, response)

    run = ContractRun([], set())
    try:
        for event in from_schema(schema).execute():
            run.failures.extend(_describe(event))
            run.answered.update(_answered(event))
    finally:
        asgi.shutdown_lifespans()
    run.failures = sorted(set(run.failures))
    return run


def _answered(event: events.EngineEvent) -> set[tuple[str, int]]:
    if not isinstance(event, events.ScenarioFinished):
        return set()
    recorder = event.recorder
    return {
        (recorder.cases[case_id].value.operation.label, interaction.response.status_code)
        for case_id, interaction in recorder.interactions.items()
        if interaction.response is not None and case_id in recorder.cases
    }


def _answer(recorder: ScenarioRecorder, case_id: str) -> str:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return "(no answer)"
    response = interaction.response
    node = recorder.cases.get(case_id)
    meta = node.value.meta if node is not None else None
    if meta is not None:
        data = meta.phase.data
        scenario = getattr(data, "description", "")
        return (
            f"{meta.generation.mode.value} {scenario} answered"
            f" {response.status_code}: {response.content[:300]!r}"
        )
    return f"answered {response.status_code}: {response.content[:300]!r}"


def _describe(event: events.EngineEvent) -> list[str]:
    if isinstance(event, events.ScenarioFinished) and event.status == Status.FAILURE:
        return [
            f"{info.failure.operation} ({event.phase.value}): {info.failure.title}:"
            f" {info.failure.message}\n"
            f"{_answer(event.recorder, case_id)}\n{info.code_sample}"
            for case_id, checks in event.recorder.checks.items()
            for check in checks
            if (info := check.failure_info) is not None
        ]
    if isinstance(event, events.NonFatalError):
        return [f"engine error in {event.label}: {event.value!r}"]
    if isinstance(event, events.FatalError):
        return [f"engine failed: {event.exception!r}"]
    return []
