"""Each data subject's data key in PostgreSQL, through the personal-data role a service
is granted: made once however many processes ask at once, destroyed for good, and out of
reach of every role without the grant."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import errors
from psycopg_pool import ConnectionPool

from api.query_registry import QUERY_APIS
from domains.erasure import ERASED_TEXT
from eventstore.contexts import ACCOUNTS, CONTEXTS
from eventstore.personal_data import schema
from eventstore.personal_data.data_keys import (
    DataKeys,
    SubjectErased,
    UnknownDataKey,
    UnknownSubject,
)
from eventstore.personal_data.field_cipher import ERASED, FieldCipher, FieldPlace
from eventstore.personal_data.kek_providers import file_kek
from eventstore.personal_fields import ACCOUNT_OPENED, FieldSealing
from projections.registry import PROJECTIONS
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

PLACE = FieldPlace(UUID(int=5), 1, "owner")


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Iterator[ConnectionPool[Any]]:
    """Connections as the accounts service's role (a member of the personal-data role)."""
    conninfo = stack.db.role_conninfo(ACCOUNTS.role)
    with ConnectionPool(conninfo, min_size=1, max_size=4, open=True) as opened:
        yield opened


def keys_of(stack: Stack, pool: ConnectionPool[Any]) -> DataKeys:
    """A process's view of the data keys: its own cache, the stack's KEK."""
    return DataKeys(pool, file_kek(stack.kek_dir, "local"))


def stored(stack: Stack, subject: str) -> tuple[Any, ...] | None:
    with stack.admin() as conn:
        return conn.execute(
            "SELECT key_id, wrapped, kek_id, destroyed_at FROM personal_data.data_keys"
            " WHERE subject = %s",
            (subject,),
        ).fetchone()


def test_a_subjects_key_is_made_on_first_use_and_found_again(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    made = keys_of(stack, pool).key_for("alice")

    again = keys_of(stack, pool)  # another process: nothing cached
    assert again.find("alice") == made
    assert again.key_for("alice") == made
    assert keys_of(stack, pool).by_id(made.key_id) == made
    key_id, wrapped, kek_id, destroyed_at = stored(stack, "alice") or ()
    assert (key_id, kek_id, destroyed_at) == (made.key_id, "local", None)
    assert made.key not in bytes(wrapped)


def test_an_unknown_subject_has_no_key_to_find(stack: Stack, pool: ConnectionPool[Any]) -> None:
    assert keys_of(stack, pool).find("nobody") is None


def test_a_key_id_never_made_is_an_error_not_an_erasure(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    with pytest.raises(UnknownDataKey):
        keys_of(stack, pool).by_id(UUID(int=404))


def test_processes_asking_at_once_for_a_new_subjects_key_all_get_the_same_one(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    start = threading.Barrier(4)
    found: list[Any] = []

    def ask() -> None:
        start.wait()
        found.append(keys_of(stack, pool).key_for("carol"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 4 and len({(key.key_id, key.key) for key in found}) == 1


def test_destroying_a_key_erases_it_for_good_and_again_changes_nothing(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    keys = keys_of(stack, pool)
    cipher = FieldCipher(keys)
    sealed = cipher.seal("dave", "Dave", PLACE)
    key_id = keys.key_for("dave").key_id

    keys.destroy("dave")
    first = stored(stack, "dave")
    keys.destroy("dave")

    assert first == stored(stack, "dave")
    assert first is not None and first[1:3] == (None, None) and first[3] is not None
    assert keys.find("dave") is None and keys.by_id(key_id) is None
    assert cipher.open(sealed, PLACE) is ERASED
    assert FieldCipher(keys_of(stack, pool)).open(sealed, PLACE) is ERASED
    with pytest.raises(SubjectErased):
        keys.key_for("dave")


def test_destroying_an_unknown_subjects_key_is_a_clear_error(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    with pytest.raises(UnknownSubject, match="no data key was ever made for 'nobody'"):
        keys_of(stack, pool).destroy("nobody")
    assert stored(stack, "nobody") is None


READERS = (
    ACCOUNTS.role,
    "paystream_payments",
    *(PROJECTIONS[n].role() for n in ("account_summary", "account_statement", "payments")),
    PROJECTIONS["notifications"].role(),
)
OTHERS = (
    PROJECTIONS["analytics"].role(),
    *(api.role for api in QUERY_APIS.values()),
    "paystream_operations",
    *(context.relay_role for context in CONTEXTS.values()),  # they publish stored bytes
)


@pytest.mark.parametrize("role", READERS)
def test_a_role_granted_personal_data_reads_the_keys(stack: Stack, role: str) -> None:
    with psycopg.connect(stack.db.role_conninfo(role)) as conn:
        conn.execute("SELECT count(*) FROM personal_data.data_keys").fetchone()


@pytest.mark.parametrize("role", OTHERS)
def test_a_role_without_the_grant_cannot_read_the_keys(stack: Stack, role: str) -> None:
    with psycopg.connect(stack.db.role_conninfo(role)) as conn:
        for table in schema.TABLES:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM personal_data.{table}")
            conn.rollback()


def test_no_role_may_delete_a_key(stack: Stack) -> None:
    conninfo = stack.db.role_conninfo(schema.ROLE)
    with psycopg.connect(conninfo) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("DELETE FROM personal_data.data_keys")


def test_a_field_of_a_subject_erased_meanwhile_is_stored_as_the_marker(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    """A payment in flight when its payer is erased: the step's event still stores, and
    holds no plaintext."""
    keys = keys_of(stack, pool)
    keys.key_for("erased-in-flight")
    keys.destroy("erased-in-flight")
    sealing = FieldSealing(lambda: FieldCipher(keys), lambda *_: "erased-in-flight")
    state: dict[str, Any] = {"owner": "Erin Quillfeather", "holder": "erased-in-flight"}

    sealing.seal(ACCOUNT_OPENED, UUID(int=6), 1, state)

    assert state["owner"] == ERASED_TEXT


def test_a_key_destroyed_by_another_process_leaves_this_ones_cache_in_time(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    here = DataKeys(pool, file_kek(stack.kek_dir, "local"), cache_seconds=0.0)
    key = here.key_for("erased-elsewhere")
    assert here.by_id(key.key_id) == key  # cached

    keys_of(stack, pool).destroy("erased-elsewhere")  # `gdpr erase`, in another process

    assert here.by_id(key.key_id) is None
    with pytest.raises(SubjectErased):
        here.key_for("erased-elsewhere")
