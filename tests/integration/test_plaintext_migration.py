"""`paystream gdpr seal-plaintext` on a store written as it was before sealing: the
applications write plaintext (their mappers without sealing, as the old code did), then
the migration seals every owner and reference under the subject the write path would
choose, re-hashes the chains it rewrote, and writes a checkpoint with their old and new
heads; the aggregates load as before, `audit verify` passes, a second run finds nothing,
and bad input or a store that does not verify is refused with nothing stored."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import orjson
import pytest
from psycopg_pool import ConnectionPool

from domains.accounts.access import Caller
from domains.accounts.aggregates import Account
from domains.accounts.application import AccountsService
from domains.accounts.movements import PaymentMovement
from domains.erasure import ERASED_TEXT
from domains.payments.application import PaymentsService
from domains.service import CommandService
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS, Context, application_env
from eventstore.hash_chain import TABLE as HASHES
from eventstore.mapper import MetadataMapper
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.personal_data.data_keys import DataKeys
from eventstore.personal_data.field_cipher import is_sealed
from eventstore.personal_data.kek_providers import file_kek
from eventstore.personal_data.schema import ROLE as PERSONAL_DATA_ROLE
from eventstore.settings import nats_servers
from eventstore.transcoder import default_transcoder
from identity.roles import CUSTOMER
from scripts.cli.errors import CANNOT_RUN, FOUND_PROBLEMS
from tests.support.cli import CliRun, paystream
from tests.support.operator_token import SUBJECT, operator_token
from tests.support.stack import Stack, wait_until

pytestmark = pytest.mark.integration

OWNERS = {"alice": "Alice Oldstore", "bob": "Bob Oldstore"}
SYSTEM_OWNER = "Sid Systemowned"
NEW_OWNER = "Nina Newstore"
REFERENCE = "rent Oldstore flat 3"
LATER_REFERENCE = "rent sealed flat 4"
PLAINTEXTS = (*OWNERS.values(), SYSTEM_OWNER, REFERENCE)
DUPLICATE_WINDOW_SECONDS = 2  # a republished message id is dropped as a duplicate this long


def service(stack: Stack, kind: type[CommandService[Any, Any]], sealed: bool) -> Any:
    """A context's application on the stack; without sealing it writes as the code before
    sealing did."""
    context = ACCOUNTS if kind is AccountsService else PAYMENTS
    app = kind(env=application_env(context, stack.db, pool_size=1))
    if not sealed:
        assert isinstance(app.mapper, MetadataMapper)
        app.mapper.sealing = None
    return app


@pytest.fixture(scope="module")
def old_store(stack: Stack) -> dict[str, UUID]:
    """Accounts, a payment between them and snapshots, stored in plaintext; then one more
    debit (sealed, by today's code) in alice's chain, and one account opened sealed."""
    ids: dict[str, UUID] = {}
    with service(stack, AccountsService, sealed=False) as accounts:
        for subject, owner in OWNERS.items():
            caller = Caller(subject, frozenset({CUSTOMER}))
            ids[subject] = accounts.open_account(owner, "EUR", caller).account_id
        ids["system"] = accounts.open_account(SYSTEM_OWNER, "EUR").account_id
        accounts.deposit(ids["alice"], 1000)
    with service(stack, PaymentsService, sealed=False) as payments:
        with command_metadata(CommandMetadata(actor="alice")):
            ids["payment"] = payments.request_payment(
                str(ids["alice"]), str(ids["bob"]), 250, "EUR", REFERENCE
            ).payment_id
        payments.take_snapshot(ids["payment"])
    movement = PaymentMovement.of(250, "EUR", str(ids["payment"]), str(ids["bob"]), REFERENCE)
    back = PaymentMovement.of(250, "EUR", str(ids["payment"]), str(ids["alice"]), REFERENCE)
    with service(stack, AccountsService, sealed=False) as accounts:
        accounts.debit(ids["alice"], movement)
        accounts.credit(ids["bob"], back)
        accounts.take_snapshot(ids["bob"])
    later = PaymentMovement.of(5, "EUR", "later-payment", str(ids["bob"]), LATER_REFERENCE)
    with service(stack, AccountsService, sealed=True) as accounts:
        accounts.debit(ids["alice"], later)
        ids["new"] = accounts.open_account(NEW_OWNER, "EUR").account_id
    return ids


def stored_rows(stack: Stack) -> list[tuple[Any, ...]]:
    """Every event, snapshot and recorded hash of both contexts, as stored."""
    rows: list[tuple[Any, ...]] = []
    with stack.admin() as conn:
        for context in CONTEXTS.values():
            for table in (context.events_table, context.snapshots_table, HASHES):
                rows += conn.execute(
                    f"SELECT * FROM {context.schema}.{table} ORDER BY 1, 2, 3"
                ).fetchall()
    return rows


def stored_bytes(stack: Stack) -> bytes:
    return b"\n".join(bytes(row[3]) for row in stored_rows(stack) if isinstance(row[3], bytes))


def heads(stack: Stack) -> dict[UUID, tuple[int, str]]:
    """Each chain's recorded head (last version, its hash in hex), both contexts."""
    with stack.admin() as conn:
        return {
            row[0]: (row[1], bytes(row[2]).hex())
            for context in CONTEXTS.values()
            for row in conn.execute(
                f"SELECT DISTINCT ON (originator_id) originator_id, originator_version, hash"
                f" FROM {context.schema}.{HASHES} ORDER BY originator_id, originator_version DESC"
            ).fetchall()
        }


def actions(stack: Stack) -> int:
    with stack.admin() as conn:
        row = conn.execute("SELECT count(*) FROM paystream_operations.actions").fetchone()
    return int(row[0]) if row else 0


def seal(stack: Stack, checkpoint: Path, **env: str) -> CliRun:
    kek = {"PAYSTREAM_KEK_DIR": str(stack.kek_dir)}
    return paystream(
        stack.database_url,
        "gdpr",
        "seal-plaintext",
        "--checkpoint",
        str(checkpoint),
        env={**kek, **env},
    )


def one_line_refusal(result: CliRun, code: int = CANNOT_RUN) -> str:
    assert result.returncode == code, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


REFUSALS = {
    "a customer": ({"PAYSTREAM_TOKEN": operator_token("mallory", CUSTOMER)}, "needs the role"),
    "an existing checkpoint file": ({}, "exists: name a new file"),
    "a checkpoint in no directory": ({}, "is not a writable directory"),
    "a kek of another id": ({"PAYSTREAM_KEK_ID": "other"}, "no KEK file"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_bad_input_is_one_line_and_stores_nothing(
    stack: Stack, old_store: dict[str, UUID], work: Path, case: str
) -> None:
    env, message = REFUSALS[case]
    target = work / f"{case.replace(' ', '-')}.json"
    if case == "an existing checkpoint file":
        target.write_text("kept\n")
    if case == "a checkpoint in no directory":
        target = work / "nowhere" / "checkpoint.json"
    before, logged = stored_rows(stack), actions(stack)

    result = seal(stack, target, **env)

    assert message in one_line_refusal(result)
    assert stored_rows(stack) == before
    assert actions(stack) == logged
    assert not target.exists() or target.read_text() == "kept\n"


@pytest.fixture(scope="module")
def published(stack: Stack, old_store: dict[str, UUID]) -> None:
    """The old store's events published by the relays, as they were: in plaintext."""
    relay(stack)
    assert any(REFERENCE.encode() in body for body in stream_bodies(stack))
    stack.stop_all()


def relay(stack: Stack) -> None:
    """Both relays started, their streams' duplicate window 2 s, until each stream holds
    every stored position once, in order."""
    stack.extra_env["NATS_DUPLICATE_WINDOW_SECONDS"] = str(DUPLICATE_WINDOW_SECONDS)
    stack.start_all(("relay-accounts", "relay-payments"))
    for context in CONTEXTS.values():
        wait_until(partial(holds_every_position, stack, context), 60, f"{context.stream} relayed")


def holds_every_position(stack: Stack, context: Context) -> bool:
    return stack.stream_positions(context) == stack.positions(context)


def stream_bodies(stack: Stack, purge: bool = False) -> list[bytes]:
    """Every message body in both streams (after purging them, if asked)."""

    async def bodies() -> list[bytes]:
        nc = await nats.connect(nats_servers(stack.nats_url))
        try:
            js, found = nc.jetstream(), []
            for context in CONTEXTS.values():
                if purge:
                    await js.purge_stream(context.stream)
                info = await js.stream_info(context.stream)
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    found.append((await js.get_msg(context.stream, seq)).data or b"")
            return found
        finally:
            await nc.close()

    return asyncio.run(bodies())


@pytest.fixture(scope="module")
def migrated(
    stack: Stack, old_store: dict[str, UUID], published: None, work: Path
) -> dict[str, Any]:
    """The migration run once on the old store: what it printed and wrote, and the heads
    and the `audit checkpoint` an auditor held before it."""
    old_checkpoint = work / "before.json"
    taken = paystream(stack.database_url, "audit", "checkpoint", "--output", str(old_checkpoint))
    assert taken.returncode == 0, taken.output
    before = heads(stack)
    assert all(text.encode() in stored_bytes(stack) for text in PLAINTEXTS)

    result = seal(stack, work / "sealed.json")

    assert result.returncode == 0, result.output
    document = orjson.loads((work / "sealed.json").read_bytes())
    return {"result": result, "before": before, "old": old_checkpoint, "document": document}


def test_no_owner_or_reference_is_stored_in_plaintext_after(
    stack: Stack, migrated: dict[str, Any]
) -> None:
    stored = stored_bytes(stack)
    for plaintext in PLAINTEXTS:
        assert plaintext.encode() not in stored, plaintext
    assert b"pd1." in stored
    line = migrated["result"].stdout.splitlines()[-1]
    # Events: 3 opened + debit + credit (accounts), requested (payments); snapshots: 2.
    assert line.startswith("sealed 6 events and 2 snapshots, re-hashed 4 chains;"), line


def test_each_field_is_sealed_under_the_subject_the_write_path_chooses(
    stack: Stack, old_store: dict[str, UUID], migrated: dict[str, Any]
) -> None:
    conninfo = stack.db.role_conninfo(PERSONAL_DATA_ROLE)
    with ConnectionPool(conninfo, min_size=1, max_size=1) as pool:
        keys = DataKeys(pool, file_kek(stack.kek_dir, "local"))
        key_of = {
            subject: str(found.key_id)
            for subject in ("alice", "bob", f"account:{old_store['system']}")
            if (found := keys.find(subject)) is not None
        }
    expected = {
        (ACCOUNTS, old_store["alice"], 1): "alice",  # the holder's name
        (ACCOUNTS, old_store["bob"], 1): "bob",
        (ACCOUNTS, old_store["system"], 1): f"account:{old_store['system']}",
        (ACCOUNTS, old_store["alice"], 3): "alice",  # a debit: the payer's reference
        (ACCOUNTS, old_store["bob"], 2): "alice",  # the credit: the payer's, not bob's
        (PAYMENTS, old_store["payment"], 1): "alice",  # the verified requester
    }
    for (context, aggregate_id, version), subject in expected.items():
        value = sealed_field(stack, context, aggregate_id, version)
        assert is_sealed(value) and value.split(".")[1] == key_of[subject], (aggregate_id, version)


def sealed_field(stack: Stack, context: Context, aggregate_id: UUID, version: int) -> str:
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT state FROM {context.schema}.{context.events_table}"
            " WHERE originator_id = %s AND originator_version = %s",
            (aggregate_id, version),
        ).fetchone()
    assert row is not None
    state = default_transcoder().decode(bytes(row[0]))
    return str(state.get("owner") or state["reference"])


def test_the_applications_load_the_same_plaintext(
    stack: Stack, old_store: dict[str, UUID], migrated: dict[str, Any]
) -> None:
    with service(stack, AccountsService, sealed=True) as accounts:
        assert accounts.load(old_store["alice"]).owner == OWNERS["alice"]
        assert accounts.load(old_store["bob"]).owner == OWNERS["bob"]  # from its snapshot
        assert accounts.load(old_store["system"]).owner == SYSTEM_OWNER
        assert accounts.load(old_store["new"]).owner == NEW_OWNER
        debits = accounts.history(old_store["alice"], 4, {"AccountDebited.v1"})
        assert [e.reference for e in debits] == [LATER_REFERENCE, REFERENCE]
    with service(stack, PaymentsService, sealed=True) as payments:
        assert payments.load(old_store["payment"]).reference == REFERENCE  # from its snapshot


def test_audit_verify_passes_and_the_new_checkpoint_holds(
    stack: Stack, migrated: dict[str, Any], work: Path
) -> None:
    verified = paystream(stack.database_url, "audit", "verify")
    assert verified.returncode == 0, verified.output
    assert "OK: every chain verified" in verified.stdout
    against = paystream(
        stack.database_url, "audit", "verify", "--checkpoint", str(work / "sealed.json")
    )
    assert against.returncode == 0, against.output


def test_the_checkpoint_records_the_old_and_new_head_of_each_rewritten_chain(
    stack: Stack, old_store: dict[str, UUID], migrated: dict[str, Any]
) -> None:
    supersedes = migrated["document"]["supersedes"]
    assert supersedes["command"] == "gdpr seal-plaintext"
    assert supersedes["by"]["subject"] == SUBJECT
    rewritten = {UUID(k): v for part in supersedes["contexts"].values() for k, v in part.items()}
    names = {"alice", "bob", "system", "payment"}
    assert set(rewritten) == {old_store[name] for name in names}
    now = heads(stack)
    for aggregate_id, chain in rewritten.items():
        assert (chain["old"]["version"], chain["old"]["hash"]) == migrated["before"][aggregate_id]
        assert (chain["new"]["version"], chain["new"]["hash"]) == now[aggregate_id]
        assert chain["old"]["hash"] != chain["new"]["hash"]
    assert rewritten[old_store["alice"]]["from_version"] == 1
    assert rewritten[old_store["alice"]]["new"]["version"] == 4  # the later sealed debit too
    assert now[old_store["new"]] == migrated["before"][old_store["new"]]  # untouched


def test_an_auditors_old_checkpoint_fails_on_exactly_the_chains_superseded(
    stack: Stack, migrated: dict[str, Any]
) -> None:
    result = paystream(stack.database_url, "audit", "verify", "--checkpoint", str(migrated["old"]))
    assert result.returncode == FOUND_PROBLEMS, result.output
    broken = {
        UUID(line.split()[1]) for line in result.stdout.splitlines() if " checkpoint: " in line
    }
    superseded = migrated["document"]["supersedes"]["contexts"]
    assert broken == {UUID(k) for part in superseded.values() for k in part}


def test_a_second_run_finds_nothing_and_changes_nothing(
    stack: Stack, migrated: dict[str, Any], work: Path
) -> None:
    before = stored_rows(stack)

    result = seal(stack, work / "again.json")

    assert result.returncode == 0, result.output
    assert "nothing to seal" in result.stdout
    assert not (work / "again.json").exists()
    assert stored_rows(stack) == before


MANY = 6_000  # past a batch of UPDATEs (1,000) and a fetch of the events' cursor (5,000)


def test_a_store_larger_than_a_batch_is_sealed_whole(
    stack: Stack, migrated: dict[str, Any], work: Path
) -> None:
    """UPDATEs sent while the scan's server-side cursor is still being read."""
    with service(stack, AccountsService, sealed=False) as accounts:
        for part in range(2):
            accounts.save(*(Account.open(f"Mass {part}-{n}", "EUR") for n in range(MANY // 2)))
    assert b"Mass 1-2999" in stored_bytes(stack)

    result = seal(stack, work / "many.json")

    assert result.returncode == 0, result.output
    assert result.stdout.startswith(f"sealed {MANY:,} events and 0 snapshots, re-hashed {MANY:,}")
    assert b"Mass " not in stored_bytes(stack)
    verified = paystream(stack.database_url, "audit", "verify")
    assert verified.returncode == 0, verified.output


def test_a_store_that_does_not_verify_is_refused_with_nothing_stored(
    stack: Stack, old_store: dict[str, UUID], migrated: dict[str, Any], work: Path
) -> None:
    with service(stack, AccountsService, sealed=False) as accounts:
        plain = accounts.open_account("Pat Plain", "EUR").account_id
    table = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
    where = "WHERE originator_id = %s AND originator_version = 2"
    with stack.admin() as conn:
        row = conn.execute(f"SELECT state FROM {table} {where}", (old_store["alice"],)).fetchone()
        assert row is not None
        conn.execute(
            f"UPDATE {table} SET state = state || ' '::bytea {where}", (old_store["alice"],)
        )
    before = stored_rows(stack)
    try:
        line = one_line_refusal(seal(stack, work / "refused.json"), FOUND_PROBLEMS)
        assert f"accounts {old_store['alice']} v2 altered" in line
        assert stored_rows(stack) == before
        assert b"Pat Plain" in stored_bytes(stack)
        assert not (work / "refused.json").exists()
    finally:
        with stack.admin() as conn:
            conn.execute(f"UPDATE {table} SET state = %s {where}", (row[0], old_store["alice"]))
    assert seal(stack, work / "after-repair.json").returncode == 0
    with service(stack, AccountsService, sealed=True) as accounts:
        assert accounts.load(plain).owner == "Pat Plain"


def test_plaintext_of_a_subject_whose_key_is_destroyed_becomes_the_marker(
    stack: Stack, migrated: dict[str, Any], work: Path
) -> None:
    """It cannot be sealed for them, and must not stay: an erased subject's field is
    stored as `[erased]`, as a write stores it, and the chain is re-hashed."""
    gus = Caller("gus", frozenset({CUSTOMER}))
    with service(stack, AccountsService, sealed=False) as accounts:
        gone = accounts.open_account("Gus Gone", "EUR", gus).account_id
    conninfo = stack.db.role_conninfo(PERSONAL_DATA_ROLE)
    with ConnectionPool(conninfo, min_size=1, max_size=1) as pool:
        keys = DataKeys(pool, file_kek(stack.kek_dir, "local"))
        keys.key_for("gus")
        keys.destroy("gus")

    result = seal(stack, work / "erased.json")

    assert result.returncode == 0, result.output
    assert b"Gus Gone" not in stored_bytes(stack)
    with service(stack, AccountsService, sealed=True) as accounts:
        assert accounts.load(gone).owner == ERASED_TEXT
    verified = paystream(stack.database_url, "audit", "verify")
    assert verified.returncode == 0, verified.output


def test_published_plaintext_is_gone_once_the_streams_are_purged_and_republished(
    stack: Stack, migrated: dict[str, Any]
) -> None:
    """What the migration cannot reach, and the operator's way out (README): the streams
    still hold the plaintext; purged, the relays republish every event from the store,
    sealed."""
    assert any(REFERENCE.encode() in body for body in stream_bodies(stack))

    stream_bodies(stack, purge=True)
    relay(stack)

    republished = stream_bodies(stack)
    assert len(republished) == sum(len(stack.positions(c)) for c in CONTEXTS.values())
    for plaintext in PLAINTEXTS:
        assert not any(plaintext.encode() in body for body in republished), plaintext


def test_old_row_versions_hold_the_plaintext_until_vacuum_full(
    stack: Stack, migrated: dict[str, Any]
) -> None:
    """What the UPDATEs leave behind (README): the table files keep the old versions of
    the rows (autovacuum is as good as off on the events tables) until VACUUM FULL
    rewrites them."""
    tables = [
        f"{context.schema}.{table}"
        for context in CONTEXTS.values()
        for table in (context.events_table, context.snapshots_table)
    ]
    assert any(plaintext in table_files(stack, tables) for plaintext in PLAINTEXTS)

    with stack.admin() as conn:
        conn.execute(f"VACUUM FULL {', '.join(tables)}")

    on_disk = table_files(stack, tables)
    assert not any(plaintext in on_disk for plaintext in PLAINTEXTS)


def table_files(stack: Stack, tables: list[str]) -> str:
    """The tables' main files as on disk (after a checkpoint), as text where it decodes."""
    with stack.admin() as conn:
        conn.execute("CHECKPOINT")
        files = [
            conn.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))", (t,)).fetchone()
            for t in tables
        ]
    return b"".join(bytes(row[0]) for row in files if row).decode(errors="replace")
