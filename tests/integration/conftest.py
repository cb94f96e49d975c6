"""Integration tests start their own worker processes; each test stops what it started."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


@pytest.fixture(autouse=True)
def stop_started_services(stack: Stack) -> Iterator[None]:
    yield
    stack.stop_all()
