"""Run schemathesis in process against one ASGI app's own /openapi.json; list what failed."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.python import asgi

from tests.contract_limits import is_contract_failure

# Every phase and check of `schemathesis run`; few examples per operation keep it short,
# `deterministic` (and the seed, and no example database) make it the same run every time.
SETTINGS: dict[str, Any] = {
    "seed": 8,
    "generation": {"max-examples": 8, "deterministic": True, "database": "none"},
    "output": {"sanitization": {"enabled": False}},
}


def contract_failures(app: Any) -> list[str]:
    """Every check failure and engine error of one run, one entry each (empty: none)."""
    config = schemathesis.Config.from_dict(SETTINGS)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.hook
    def filter_failure(
        context: HookContext, failure: Failure, case: Case[Any], response: Response
    ) -> bool:
        return is_contract_failure(failure, case, response)

    found: list[str] = []
    try:
        for event in from_schema(schema).execute():
            found.extend(_describe(event))
    finally:
        asgi.shutdown_lifespans()
    return sorted(set(found))


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
