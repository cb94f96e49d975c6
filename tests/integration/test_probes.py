"""Readiness probes answer from real servers: [] when reachable, a reason when not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventstore.probes import nats_missing, postgres_missing
from scripts.devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedNats(Path(tmp_path_factory.mktemp("probe-nats")), free_port())
    server.start()
    yield server.url
    server.stop()


def test_a_reachable_postgres_lacks_nothing_and_a_dead_port_is_named(
    postgres_server: EmbeddedPostgres,
) -> None:
    live = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    assert asyncio.run(postgres_missing(live)) == []
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    [missing] = asyncio.run(postgres_missing(dead))
    assert missing.startswith("postgresql unreachable (OperationalError:")


def test_nats_is_probed_afresh_through_any_server_of_a_comma_separated_url(
    nats_url: str,
) -> None:
    cluster_url = f"nats://127.0.0.1:{free_port()},{nats_url}"
    assert asyncio.run(nats_missing(None, cluster_url)) == []
    [missing] = asyncio.run(nats_missing(None, f"nats://127.0.0.1:{free_port()}"))
    assert missing.startswith("nats unreachable")
