"""NATS_URL names one server or a cluster's several; nats-py wants them as a list."""

from __future__ import annotations

from pathlib import Path

from eventstore.settings import nats_servers
from scripts.devstack.embedded import EmbeddedNatsCluster


def test_one_server_is_a_list_of_one() -> None:
    assert nats_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


def test_a_cluster_url_lists_every_server_in_order() -> None:
    url = "nats://n1:4222, nats://n2:4222,nats://n3:4222,"

    assert nats_servers(url) == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]


def test_an_embedded_cluster_names_every_node_and_routes_to_all(tmp_path: Path) -> None:
    cluster = EmbeddedNatsCluster(tmp_path, [4301, 4302, 4303])

    assert nats_servers(cluster.url) == [f"nats://127.0.0.1:{p}" for p in (4301, 4302, 4303)]
    seats = [node.cluster for node in cluster.nodes]
    assert len({seat.routes for seat in seats if seat}) == 1, "every node knows every route"
    assert len({node.server_name for node in cluster.nodes}) == 3
    assert all("sync_interval" in node.config() for node in cluster.nodes)
