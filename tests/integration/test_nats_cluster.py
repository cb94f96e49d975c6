"""A 3-node JetStream cluster loses nothing and stops nothing for longer than an election
when the stream's leader is SIGKILLed under load (real nats-servers, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from uuid import UUID

import httpx
import nats
import pytest

from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS
from eventstore.personal_data.kek_providers import file_kek
from eventstore.relay import last_published_position
from eventstore.settings import nats_servers
from scripts.devstack.embedded import EmbeddedNatsCluster, EmbeddedPostgres, free_port
from scripts.provision import provision
from tests.support.stack import Stack, database_url_for, sealing_like, wait_until
from tests.support.workload import accounts_service, folded_rows, summary_rows, tracked_position

pytestmark = pytest.mark.integration

NODES = 3
# An election (4-9 s of raft timeouts), then the relay's next try (requests wait 2 s).
MAX_OUTAGE_SECONDS = 15.0


@pytest.fixture(scope="module")
def stack(
    postgres_server: EmbeddedPostgres,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """A provisioned database and a 3-node NATS cluster whose streams have 3 replicas."""
    work_dir = tmp_path_factory.mktemp("cluster")
    cluster = EmbeddedNatsCluster(work_dir, [free_port() for _ in range(NODES)])
    cluster.start()
    database_url = database_url_for(postgres_server.admin_url, request.module.__name__)
    clustered = Stack(database_url, cluster, work_dir, stream_replicas=NODES)
    try:
        with sealing_like(clustered):
            kek = file_kek(clustered.kek_dir, "local", create=True)
            provision(clustered.db, cluster.url, NODES, kek)
            yield clustered
    finally:
        clustered.stop_all()
        cluster.stop()


class Depositor(threading.Thread):
    """One client making deposits until told to stop; counts what was acknowledged."""

    def __init__(self, service: AccountsService, seed: int) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.acknowledged = 0
        self.ids: list[UUID] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.ids = [self.service.open_account(f"c-{i}", "EUR").account_id for i in range(3)]
            while not self.stopping.is_set():
                self.service.deposit(self.rng.choice(self.ids), self.rng.randint(1, 1000))
                self.acknowledged += 1
        except BaseException as error:
            self.error = error

    def finish(self) -> int:
        self.stopping.set()
        self.join(30)
        assert self.error is None, self.error
        return self.acknowledged


async def _stream_facts(nats_url: str) -> tuple[str, int]:
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream(timeout=1.0)  # a poll stuck during an election skews the pause
        leader = (await js.stream_info(ACCOUNTS.stream)).cluster.leader  # type: ignore[union-attr]
        return str(leader), await last_published_position(js, ACCOUNTS)
    finally:
        await nc.close()


def stream_leader(stack: Stack) -> str:
    return asyncio.run(_stream_facts(stack.nats_url))[0]


def stream_end(stack: Stack) -> int:
    """The stream's last position, 0 while it cannot be asked (no leader yet)."""
    try:
        return asyncio.run(_stream_facts(stack.nats_url))[1]
    except (nats.errors.Error, TimeoutError):
        return 0


def published(stack: Stack, clients: list[Depositor], events: int) -> bool:
    """Whether the stream holds `events`; a client that failed fails the test at once."""
    for client in clients:
        assert client.error is None, f"a depositor failed: {client.error!r}"
    return stream_end(stack) >= events


def test_killing_the_stream_leader_under_load_loses_nothing(stack: Stack) -> None:
    assert isinstance(stack.nats, EmbeddedNatsCluster)
    cluster = stack.nats
    relay = stack.start("relay-accounts")
    stack.start("projector-account-summary")
    clients = [Depositor(accounts_service(stack), seed) for seed in range(3)]
    for client in clients:
        client.start()
    wait_until(lambda: published(stack, clients, 200), 30, "the relay to publish under load")
    leader = stream_leader(stack)
    victim = [node.server_name for node in cluster.nodes].index(leader)

    published_before = int(httpx.get(f"{relay.url}/status", timeout=5).json()["published_position"])
    cluster.kill(victim)
    stored_at_kill = stack.max_position(ACCOUNTS)

    assert stored_at_kill > published_before, "the kill must land on events not yet published"
    killed_at = time.monotonic()
    wait_until(
        lambda: stream_end(stack) > stored_at_kill,
        30,
        "a new leader and the relay publishing events stored after the kill",
    )
    outage = time.monotonic() - killed_at
    assert outage < MAX_OUTAGE_SECONDS, f"publishing stopped for {outage:.1f}s"
    cluster.start(victim)
    acknowledged = sum(client.finish() for client in clients)
    expected = stack.positions(ACCOUNTS)
    wait_until(lambda: stream_end(stack) == expected[-1], 30, "the relay to publish everything")
    wait_until(
        lambda: tracked_position(stack) == expected[-1], 30, "the projector to reach the end"
    )

    assert stack.stream_positions(ACCOUNTS) == expected  # every event once, in order
    ids = [account_id for client in clients for account_id in client.ids]
    assert summary_rows(stack) == folded_rows(clients[0].service, ids)  # each applied once
    assert len(expected) == acknowledged + 3 * len(clients)  # every deposit and opening
