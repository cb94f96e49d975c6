"""The console's rebuilds: one per read model at a time, and one that cannot reach the
database ends failed, saying why (never running forever)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from console.rebuild_runs import RebuildRunning, RebuildRuns
from identity.principal import Principal
from identity.roles import OPERATOR
from projections.payments import PaymentsProjection
from tests.support.stack import wait_until

OLGA = Principal("olga", frozenset({OPERATOR}))


@pytest.fixture
def silent_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A server that takes connections and never answers: a rebuild stays starting."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{port}/nothing")
        yield


def test_a_second_rebuild_of_a_read_model_is_refused_while_one_runs(
    silent_database: None,
) -> None:
    runs = RebuildRuns()
    first = runs.start(PaymentsProjection, OLGA)

    with pytest.raises(RebuildRunning, match="a rebuild of payments is already running"):
        runs.start(PaymentsProjection, OLGA)

    wait_until(lambda: first.state == "failed", 30, "the rebuild to give up")
    assert first.outcome.startswith("the rebuild stopped: ")
    assert runs.latest() == [first]
