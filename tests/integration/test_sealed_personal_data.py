"""Personal data sealed in events (issue 14, increment 2), on a running system: the store
and the bus hold only ciphertext of an owner's name and a payment's reference, the read
models and query APIs show the plaintext as before, events stored before sealing still
load and project, a destroyed key loads and rebuilds as `[erased]`, and a wrong KEK
stops a service at start."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import nats
import orjson
import pytest
from psycopg_pool import ConnectionPool

from api.consistency import HEADER as TOKEN_HEADER
from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from eventstore.mapper import MetadataMapper
from eventstore.personal_data.data_keys import DataKeys
from eventstore.personal_data.kek_providers import file_kek
from eventstore.personal_data.schema import ROLE as PERSONAL_DATA_ROLE
from eventstore.settings import nats_servers
from projections.account_summary import AccountSummaryProjection
from projections.dead_letters import TABLE as DEAD_LETTERS_TABLE
from projections.rebuild import rebuild
from scripts.devstack.supervisor import service_env
from tests.support.cli import ROOT, paystream
from tests.support.stack import Stack, wait_until

pytestmark = pytest.mark.integration

ALICE_NAME = "Alice Sealwater"
BOB_NAME = "Bob Plainfield"
REFERENCE = "rent Sealwater flat 7"
DEADLINE = 30.0
# Workers first, so no API waits on a consumer that does not exist yet.
SERVICES = (
    "relay-accounts",
    "relay-payments",
    "saga",
    "projector-accounts-group",
    "projector-payments",
    "accounts-api",
    "account-summary-query-api",
    "payments-api",
    "account-statement-query-api",
    "payments-query-api",
)


@pytest.fixture(autouse=True)
def stop_started_services() -> Iterator[None]:
    """The system runs for the whole module: the stack stops it at the end."""
    yield


@pytest.fixture(scope="module")
def running(stack: Stack) -> Stack:
    stack.start_all(SERVICES)
    return stack


def client(stack: Stack, service: str, subject: str, *roles: str) -> httpx.Client:
    return httpx.Client(base_url=stack.url(service), headers=stack.auth(subject, *roles))


def open_account(stack: Stack, subject: str, owner: str) -> tuple[str, str]:
    """A new EUR account of `subject`; its id and the answer's consistency token."""
    with client(stack, "accounts-api", subject) as accounts:
        answer = accounts.post("/accounts", json={"owner": owner, "currency": "EUR"})
    assert answer.status_code == 201, answer.text
    return answer.json()["account_id"], answer.headers[TOKEN_HEADER]


def summary(stack: Stack, subject: str, account_id: str, token: str, *roles: str) -> dict[str, Any]:
    with client(stack, "account-summary-query-api", subject, *roles) as queries:
        answer = queries.get(f"/accounts/{account_id}", headers={TOKEN_HEADER: token})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture(scope="module")
def paid(running: Stack) -> dict[str, str]:
    """Alice pays Bob with a reference, to the end: the ids of what it made."""
    alice, _ = open_account(running, "alice", ALICE_NAME)
    bob, token = open_account(running, "bob", BOB_NAME)
    with client(running, "accounts-api", "teller", "teller") as teller:
        deposit = teller.post(f"/accounts/{alice}/deposits", json={"amount": 1000})
    assert deposit.status_code == 200, deposit.text
    request = {
        "source": alice,
        "destination": bob,
        "amount": 250,
        "currency": "EUR",
        "reference": REFERENCE,
    }
    with client(running, "payments-api", "alice") as payments:
        answer = payments.post(
            "/payments", json=request, headers={TOKEN_HEADER: deposit.headers[TOKEN_HEADER]}
        )
    assert answer.status_code == 202, answer.text
    payment = answer.json()["payment_id"]

    def completed() -> bool:
        with client(running, "payments-query-api", "alice") as queries:
            found = queries.get(f"/payments/{payment}")
        return found.status_code == 200 and found.json()["status"] == "completed"

    wait_until(completed, DEADLINE, "the payment to complete")
    return {"alice": alice, "bob": bob, "payment": payment, "token": token}


def stored_bytes(stack: Stack) -> bytes:
    """Every stored event and snapshot of both contexts, as the bytes stored."""
    with stack.admin() as conn:
        rows = [
            bytes(row[0])
            for context in (ACCOUNTS, PAYMENTS)
            for table in (context.events_table, context.snapshots_table)
            for row in conn.execute(f"SELECT state FROM {context.schema}.{table}").fetchall()
        ]
    return b"\n".join(rows)


def test_the_store_holds_no_owner_name_or_reference_in_plaintext(
    running: Stack, paid: dict[str, str]
) -> None:
    stored = stored_bytes(running)
    assert b"pd1." in stored
    for plaintext in (ALICE_NAME, BOB_NAME, REFERENCE):
        assert plaintext.encode() not in stored, plaintext


def test_the_read_models_and_query_apis_show_the_plaintext(
    running: Stack, paid: dict[str, str]
) -> None:
    assert summary(running, "bob", paid["bob"], paid["token"])["owner"] == BOB_NAME
    with client(running, "payments-query-api", "alice") as queries:
        payment = queries.get(f"/payments/{paid['payment']}").json()
    assert payment["reference"] == REFERENCE

    def credited() -> list[dict[str, Any]]:
        with client(running, "account-statement-query-api", "bob") as queries:
            answer = queries.get(f"/accounts/{paid['bob']}/statement")
        return [e for e in answer.json().get("entries", []) if e.get("payment_id")]

    wait_until(lambda: bool(credited()), DEADLINE, "bob's statement to show the credit")
    assert [entry["reference"] for entry in credited()] == [REFERENCE]
    with running.admin() as conn:
        alice_owner = conn.execute(
            "SELECT owner FROM read_account_summary.accounts WHERE account_id = %s",
            (paid["alice"],),
        ).fetchone()
    assert alice_owner == (ALICE_NAME,)


def test_a_loaded_account_and_payment_hold_the_plaintext(
    running: Stack, paid: dict[str, str]
) -> None:
    with AccountsService(env=application_env(ACCOUNTS, running.db, pool_size=1)) as accounts:
        assert accounts.load(UUID(paid["alice"])).owner == ALICE_NAME
        history = accounts.history(UUID(paid["bob"]), 10, {"AccountCredited.v1"})
        assert [event.reference for event in history] == [REFERENCE]  # type: ignore[attr-defined]


def test_a_raw_jetstream_message_holds_no_plaintext(running: Stack, paid: dict[str, str]) -> None:
    async def bodies() -> list[bytes]:
        nc = await nats.connect(nats_servers(running.nats_url))
        try:
            js = nc.jetstream()
            info = await js.stream_info(ACCOUNTS.stream)
            return [
                (await js.get_msg(ACCOUNTS.stream, seq)).data or b""
                for seq in range(info.state.first_seq, info.state.last_seq + 1)
            ]
        finally:
            await nc.close()

    published = asyncio.run(bodies())
    opened = [body for body in published if b'"holder"' in body and b'"owner"' in body]
    assert opened and all(b'"owner":"pd1.' in body for body in opened)
    for plaintext in (ALICE_NAME, BOB_NAME, REFERENCE):
        assert not any(plaintext.encode() in body for body in published), plaintext


def test_an_event_stored_before_sealing_still_loads_and_projects(running: Stack) -> None:
    with AccountsService(env=application_env(ACCOUNTS, running.db, pool_size=1)) as accounts:
        assert isinstance(accounts.mapper, MetadataMapper)
        accounts.mapper.sealing = None  # as the store wrote it before this increment
        old = accounts.open_account("Olga Oldstyle", "EUR")
    assert b"Olga Oldstyle" in stored_bytes(running)
    with AccountsService(env=application_env(ACCOUNTS, running.db, pool_size=1)) as accounts:
        assert accounts.load(old.account_id).owner == "Olga Oldstyle"
    token = f"{ACCOUNTS.name}:{old.position}"
    shown = summary(running, "teller", str(old.account_id), token, "teller")
    assert shown["owner"] == "Olga Oldstyle"


def test_a_destroyed_key_loads_and_rebuilds_as_erased(running: Stack) -> None:
    carol, token = open_account(running, "carol", "Carol Gone")
    summary(running, "carol", carol, token)  # projected while the key was there
    conninfo = running.db.role_conninfo(PERSONAL_DATA_ROLE)
    with ConnectionPool(conninfo, min_size=1, max_size=1) as pool:
        DataKeys(pool, file_kek(running.kek_dir, "local")).destroy("carol")
    with AccountsService(env=application_env(ACCOUNTS, running.db, pool_size=1)) as accounts:
        assert accounts.load(UUID(carol)).owner == "[erased]"
    projector_role = running.db.role_conninfo(AccountSummaryProjection.role())
    asyncio.run(rebuild(AccountSummaryProjection, projector_role))
    with running.admin() as conn:
        owner = conn.execute(
            "SELECT owner FROM read_account_summary.accounts WHERE account_id = %s", (carol,)
        ).fetchone()
        schemas = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s",
            (DEAD_LETTERS_TABLE,),
        ).fetchall()
        dead = [
            conn.execute(f"SELECT count(*) FROM {schema}.{DEAD_LETTERS_TABLE}").fetchone()
            for (schema,) in schemas
        ]
    assert owner == ("[erased]",)
    assert all(count == (0,) for count in dead)
    history = paystream(running.database_url, "audit", "history", carol, "--json")
    assert history.returncode == 0, history.output
    assert orjson.loads(history.stdout)[0]["payload"]["owner"] == "[erased]"


@pytest.fixture
def wrong_kek_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A key file under the configured id ("local") that holds another key."""
    directory = tmp_path_factory.mktemp("wrong-keys")
    file_kek(directory, "local", create=True)
    yield str(directory)


@pytest.mark.parametrize(
    "service", [("accounts-api",), ("saga",), ("projector", "payments")], ids="-".join
)
def test_a_wrong_kek_stops_a_service_at_start_with_one_line(
    stack: Stack, wrong_kek_dir: str, service: tuple[str, ...]
) -> None:
    env = service_env(stack.database_url, stack.nats_url) | {"PAYSTREAM_KEK_DIR": wrong_kek_dir}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cli.serve", *service, "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and "KEK" in line, line
