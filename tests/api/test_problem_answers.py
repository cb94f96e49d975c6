"""Errors Starlette raises itself still leave as problem+json with their headers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.health import worker_app
from api.problems import PROBLEM_MEDIA_TYPE


async def nothing_missing() -> list[str]:
    """A readiness check that finds every dependency there."""
    return []


def test_a_method_not_allowed_names_the_allowed_ones() -> None:
    client = TestClient(worker_app("worker", nothing_missing, dict))
    response = client.delete("/status")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["allow"] == "GET"
    assert response.json()["type"] == "/problems/method-not-allowed"
