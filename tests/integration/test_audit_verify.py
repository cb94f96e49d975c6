"""`paystream audit verify|checkpoint`, run as operators run them, on a real event store that a
test tampers with directly in SQL (as the administrator) and then restores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, LiteralString
from uuid import UUID

import orjson
import pytest
from psycopg.sql import SQL, Composed, Identifier

from domains.accounts.aggregates import Account
from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS, application_env
from eventstore.hash_chain import GENESIS, link_hash
from eventstore.hash_chain import TABLE as HASHES
from tests.support.cli import CliRun, paystream
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

EVENTS = ACCOUNTS.events_table
WHERE = SQL("WHERE originator_id = %s AND originator_version = ANY(%s)")


@pytest.fixture(scope="module")
def service(stack: Stack) -> Iterator[AccountsService]:
    service = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=2))
    yield service
    service.close()


@pytest.fixture(scope="module", autouse=True)
def history(service: AccountsService) -> None:
    """Chains written every way the recorder writes them: one event per save, many events
    of one aggregate in one save, several aggregates in one save."""
    for n in range(3):
        account_id = service.open_account(f"owner {n}", "EUR").account_id
        for _ in range(n + 2):
            service.deposit(account_id, 100)
    batch = [Account.open(f"batch {n}", "EUR") for n in range(2)]
    for account in batch:
        for _ in range(5):
            account.deposit(10)
    service.save(*batch)
    service.deposit(batch[0].id, 1)


def account(service: AccountsService, deposits: int) -> UUID:
    """A fresh account of its own: version 1 opened, then `deposits` deposits."""
    account_id = service.open_account("tampered", "EUR").account_id
    for _ in range(deposits):
        service.deposit(account_id, 100)
    return account_id


def audit(stack: Stack, *args: str) -> CliRun:
    return paystream(stack.database_url, "audit", *args)


def problems(result: CliRun) -> list[str]:
    """The report's problem lines: `accounts <aggregate> v<version> <kind>: <detail>`."""
    return [line for line in result.stdout.splitlines() if line.startswith("accounts ")]


def table(name: str) -> Composed:
    return SQL("{}.{}").format(Identifier(ACCOUNTS.schema), Identifier(name))


def execute(stack: Stack, statement: Composed, params: tuple[Any, ...]) -> None:
    with stack.admin() as conn:
        conn.execute(statement, params)


@contextmanager
def restored_afterwards(stack: Stack, aggregate_id: UUID, *versions: int) -> Iterator[None]:
    """Whatever a test does to these versions' event and hash rows is undone on leaving."""
    key = (aggregate_id, list(versions))
    saved = {}
    with stack.admin() as conn:
        for name in (EVENTS, HASHES):
            cursor = conn.execute(SQL("SELECT * FROM {} {}").format(table(name), WHERE), key)
            saved[name] = ([c.name for c in cursor.description or []], cursor.fetchall())
    try:
        yield
    finally:
        with stack.admin() as conn, conn.transaction():
            for name, (columns, rows) in saved.items():
                conn.execute(SQL("DELETE FROM {} {}").format(table(name), WHERE), key)
                insert = SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    table(name),
                    SQL(", ").join(map(Identifier, columns)),
                    SQL(", ").join(SQL("%s") for _ in columns),
                )
                conn.cursor().executemany(insert, rows)


def change_events(
    stack: Stack, aggregate_id: UUID, version: int, assignment: LiteralString
) -> None:
    statement = SQL("UPDATE {} SET {} {}").format(table(EVENTS), SQL(assignment), WHERE)
    execute(stack, statement, (aggregate_id, [version]))


def assert_clean(stack: Stack, *args: str) -> None:
    result = audit(stack, "verify", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert problems(result) == []
    assert result.stdout.splitlines()[-1].startswith("OK: every chain verified")


def test_an_untouched_store_verifies(stack: Stack) -> None:
    with stack.admin() as conn:
        counts = conn.execute(
            SQL("SELECT (SELECT count(*) FROM {}), (SELECT count(*) FROM {})").format(
                table(EVENTS), table(HASHES)
            )
        ).fetchone()
    assert counts is not None and counts[0] == counts[1] > 0  # one hash per event
    assert_clean(stack)
    assert_clean(stack, "--context", "accounts")


def test_one_changed_byte_is_named_as_altered(stack: Stack, service: AccountsService) -> None:
    victim = account(service, deposits=4)
    with restored_afterwards(stack, victim, 3):
        change_events(stack, victim, 3, "state = set_byte(state, 20, get_byte(state, 20) # 1)")
        result = audit(stack, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = problems(result)
    assert line.startswith(f"accounts {victim} v3 altered: ")
    assert result.stdout.splitlines()[-1].startswith("FAILED: 1 problem (1 altered)")
    assert_clean(stack)


@pytest.mark.parametrize("hash_too", [False, True], ids=["event", "event-and-hash"])
def test_a_deleted_event_is_named_as_missing(
    stack: Stack, service: AccountsService, hash_too: bool
) -> None:
    victim = account(service, deposits=4)
    with restored_afterwards(stack, victim, 2):
        for name in (EVENTS, HASHES) if hash_too else (EVENTS,):
            execute(stack, SQL("DELETE FROM {} {}").format(table(name), WHERE), (victim, [2]))
        result = audit(stack, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = problems(result)
    assert line.startswith(f"accounts {victim} v2 missing: ")
    assert_clean(stack)


def test_an_event_without_its_hash_is_named_as_unhashed(
    stack: Stack, service: AccountsService
) -> None:
    victim = account(service, deposits=4)
    with restored_afterwards(stack, victim, 2):
        execute(stack, SQL("DELETE FROM {} {}").format(table(HASHES), WHERE), (victim, [2]))
        result = audit(stack, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = problems(result)
    assert line.startswith(f"accounts {victim} v2 unhashed: ")
    assert_clean(stack)


def test_two_swapped_versions_are_named_as_reordered(
    stack: Stack, service: AccountsService
) -> None:
    victim = account(service, deposits=4)
    with restored_afterwards(stack, victim, 2, 3):
        swap = SQL(
            "UPDATE {0} e SET state = other.state FROM {0} other"
            " WHERE e.originator_id = %s AND other.originator_id = e.originator_id"
            " AND e.originator_version IN (2, 3)"
            " AND other.originator_version = 5 - e.originator_version"
        ).format(table(EVENTS))
        execute(stack, swap, (victim,))
        result = audit(stack, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert problems(result) == [
        f"accounts {victim} v2 reordered: holds the event recorded as version 3",
        f"accounts {victim} v3 reordered: holds the event recorded as version 2",
    ]
    assert_clean(stack)


def test_a_checkpoint_holds_across_later_legitimate_writes(
    stack: Stack, service: AccountsService, tmp_path: Path
) -> None:
    kept = account(service, deposits=2)
    checkpoint = tmp_path / "checkpoint.json"
    written = audit(stack, "checkpoint", "--output", str(checkpoint))
    assert written.returncode == 0, written.stderr
    saved = orjson.loads(checkpoint.read_bytes())
    assert saved["contexts"]["accounts"]["heads"][str(kept)]["version"] == 3
    assert saved["contexts"]["accounts"]["max_position"] == stack.max_position(ACCOUNTS)
    service.deposit(kept, 5)
    account(service, deposits=1)
    assert_clean(stack, "--checkpoint", str(checkpoint))
    to_stdout = audit(stack, "checkpoint")
    assert to_stdout.returncode == 0 and orjson.loads(to_stdout.stdout)["digest"]


def test_a_checkpoint_names_tampering_before_it(
    stack: Stack, service: AccountsService, tmp_path: Path
) -> None:
    victim = account(service, deposits=3)
    checkpoint = tmp_path / "checkpoint.json"
    assert audit(stack, "checkpoint", "--output", str(checkpoint)).returncode == 0
    service.deposit(victim, 1)  # version 5, after the checkpoint
    with restored_afterwards(stack, victim, 2):
        change_events(stack, victim, 2, "state = set_byte(state, 20, get_byte(state, 20) # 1)")
        result = audit(stack, "verify", "--checkpoint", str(checkpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    assert [line.split(":")[0] for line in problems(result)] == [
        f"accounts {victim} v2 altered",
        f"accounts {victim} v4 checkpoint",  # the head the checkpoint kept no longer folds
    ]
    assert_clean(stack, "--checkpoint", str(checkpoint))


def test_only_a_checkpoint_catches_an_event_rewritten_with_its_hashes(
    stack: Stack, service: AccountsService, tmp_path: Path
) -> None:
    """Someone who can write the hash table can re-hash what they changed; the chain then
    holds, but it no longer folds to the head a checkpoint kept elsewhere."""
    victim = account(service, deposits=2)
    checkpoint = tmp_path / "checkpoint.json"
    assert audit(stack, "checkpoint", "--output", str(checkpoint)).returncode == 0
    with restored_afterwards(stack, victim, 1, 2, 3):
        change_events(stack, victim, 2, "state = set_byte(state, 20, get_byte(state, 20) # 1)")
        forge_hashes(stack, victim)
        assert_clean(stack)
        result = audit(stack, "verify", "--checkpoint", str(checkpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = problems(result)
    assert line.startswith(f"accounts {victim} v3 checkpoint: ")


def test_only_a_checkpoint_catches_a_dropped_latest_event(
    stack: Stack, service: AccountsService, tmp_path: Path
) -> None:
    """The latest event deleted with its hash leaves a shorter chain that holds."""
    victim = account(service, deposits=2)
    checkpoint = tmp_path / "checkpoint.json"
    assert audit(stack, "checkpoint", "--output", str(checkpoint)).returncode == 0
    with restored_afterwards(stack, victim, 3):
        for name in (EVENTS, HASHES):
            execute(stack, SQL("DELETE FROM {} {}").format(table(name), WHERE), (victim, [3]))
        assert_clean(stack)
        result = audit(stack, "verify", "--checkpoint", str(checkpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    assert problems(result) == [
        f"accounts {victim} v3 missing: the checkpoint's head is version 3,"
        " the store ends at version 2"
    ]


def forge_hashes(stack: Stack, aggregate_id: UUID) -> None:
    """Recompute an aggregate's recorded hashes from its (changed) events."""
    with stack.admin() as conn:
        rows = conn.execute(
            SQL(
                "SELECT notification_id, originator_version, topic, state FROM {}"
                " WHERE originator_id = %s ORDER BY originator_version"
            ).format(table(EVENTS)),
            (aggregate_id,),
        ).fetchall()
        digest = GENESIS
        for position, version, topic, state in rows:
            digest = link_hash(digest, position, aggregate_id, version, topic, bytes(state))
            conn.execute(
                SQL("UPDATE {} SET hash = %s WHERE notification_id = %s").format(table(HASHES)),
                (digest, position),
            )


def test_bad_checkpoints_and_contexts_get_one_line_and_exit_2(stack: Stack, tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    assert audit(stack, "checkpoint", "--output", str(checkpoint)).returncode == 0
    edited = tmp_path / "edited.json"
    saved = orjson.loads(checkpoint.read_bytes())
    saved["contexts"]["accounts"]["max_position"] += 1
    edited.write_bytes(orjson.dumps(saved))
    not_json = tmp_path / "not.json"
    not_json.write_text("{ not json")
    cases = {
        ("--checkpoint", str(edited)): "its digest does not match its contents",
        ("--checkpoint", str(tmp_path / "absent.json")): "cannot read checkpoint",
        ("--checkpoint", str(tmp_path)): "cannot read checkpoint",
        ("--checkpoint", str(not_json)): "is not valid JSON",
        ("--context", "ledger"): "unknown context 'ledger'",
    }
    for args, message in cases.items():
        result = audit(stack, "verify", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ") and message in line, line
        assert "Traceback" not in result.stdout + result.stderr
