"""The key-encryption key over the data keys: a wrong one stops a process at start with
one line; `paystream gdpr rotate-kek` re-wraps every data key under a new one, all of
them readable after, and refuses bad input with one line, storing nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from psycopg_pool import ConnectionPool

from eventstore.contexts import ACCOUNTS
from eventstore.personal_data.data_keys import DataKeys
from eventstore.personal_data.field_cipher import ERASED, FieldCipher, FieldPlace
from eventstore.personal_data.kek import AesGcmKek, KekError, WrongKek
from eventstore.personal_data.kek_check import verified_kek
from eventstore.personal_data.kek_providers import KekSettings, file_kek, key_file
from eventstore.personal_data.schema import ROLE
from identity.roles import CUSTOMER
from scripts.cli.errors import CANNOT_RUN
from scripts.provision import provision
from tests.support.cli import CliRun, paystream
from tests.support.operator_token import operator_token
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

PLACE = FieldPlace(UUID(int=9), 3, "reference")


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Iterator[ConnectionPool[Any]]:
    conninfo = stack.db.role_conninfo(ACCOUNTS.role)
    with ConnectionPool(conninfo, min_size=1, max_size=2, open=True) as opened:
        yield opened


def current_kek(stack: Stack) -> AesGcmKek:
    """The stack's KEK in use (its id from the stored check, its key from its file)."""
    with stack.admin() as conn:
        row = conn.execute("SELECT kek_id FROM personal_data.kek_check").fetchone()
    assert row is not None
    return file_kek(stack.kek_dir, str(row[0]))


def kek_env(stack: Stack, kek_id: str | None = None, **more: str) -> dict[str, str]:
    return {
        "PAYSTREAM_KEK_DIR": str(stack.kek_dir),
        "PAYSTREAM_KEK_ID": kek_id or current_kek(stack).kek_id,
        **more,
    }


def stored_state(stack: Stack) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was: the check, the keys, the files."""
    with stack.admin() as conn:
        check = conn.execute("SELECT * FROM personal_data.kek_check").fetchall()
        keys = conn.execute("SELECT * FROM personal_data.data_keys ORDER BY subject").fetchall()
    return check, keys, sorted(path.name for path in stack.kek_dir.iterdir())


def one_line_refusal(result: CliRun) -> str:
    assert result.returncode == CANNOT_RUN, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def another_key_named(tmp_path: Path, kek_id: str) -> Path:
    """A KEK directory holding a key file of that id with another key."""
    file_kek(tmp_path, kek_id, create=True)
    return tmp_path


def test_the_configured_kek_passes_the_start_check(stack: Stack) -> None:
    result = paystream(stack.database_url, "gdpr", "check-kek", env=kek_env(stack))

    assert result.returncode == 0, result.output
    assert "unwraps the stored data keys" in result.stdout


def test_another_key_under_the_same_id_stops_a_process_at_start(
    stack: Stack, tmp_path: Path
) -> None:
    kek_id = current_kek(stack).kek_id
    settings = KekSettings(kek_dir=another_key_named(tmp_path, kek_id), kek_id=kek_id)

    with pytest.raises(WrongKek, match="same id, another key"):
        verified_kek(stack.db.role_conninfo(ACCOUNTS.role), settings)
    result = paystream(
        stack.database_url,
        "gdpr",
        "check-kek",
        env={**kek_env(stack), "PAYSTREAM_KEK_DIR": str(tmp_path)},
    )
    assert "is not the key the stored data keys were wrapped with" in one_line_refusal(result)


def test_a_kek_of_another_id_stops_a_process_at_start_naming_both(
    stack: Stack, tmp_path: Path
) -> None:
    env = kek_env(stack, "other", PAYSTREAM_KEK_DIR=str(another_key_named(tmp_path, "other")))

    line = one_line_refusal(paystream(stack.database_url, "gdpr", "check-kek", env=env))

    assert f"wrapped under KEK {current_kek(stack).kek_id!r}" in line
    assert "the configured KEK is 'other'" in line


def test_provisioning_again_with_another_kek_is_refused(stack: Stack, tmp_path: Path) -> None:
    before = stored_state(stack)
    wrong = file_kek(another_key_named(tmp_path, "local"), "local")

    with pytest.raises(KekError):
        provision(stack.db, stack.nats_url, kek=wrong)

    assert stored_state(stack) == before


REFUSALS = {
    "a customer": (
        ["--new-kek-id", "next"],
        {"PAYSTREAM_TOKEN": operator_token("mallory", CUSTOMER)},
        "needs the role operator",
    ),
    "the id in use": (["--new-kek-id", "{current}"], {}, "is the one in use"),
    "an id that cannot name a file": (["--new-kek-id", "../next"], {}, "is not valid"),
    "no new key in the variable": (
        ["--new-kek-id", "next"],
        {"PAYSTREAM_KEK_PROVIDER": "env", "PAYSTREAM_KEK": "{current_b64}"},
        "PAYSTREAM_NEW_KEK is not set",
    ),
    "a wrong configured kek": (
        ["--new-kek-id", "next"],
        {"PAYSTREAM_KEK_ID": "missing"},
        "no KEK file",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_rotation_is_one_line_and_stores_nothing(stack: Stack, case: str) -> None:
    args, extra, message = REFUSALS[case]
    current = current_kek(stack).kek_id
    current_b64 = base64.b64encode(key_file(stack.kek_dir, current).read_bytes()).decode()
    fill = {"current": current, "current_b64": current_b64}
    env = kek_env(stack, **{k: v.format(**fill) for k, v in extra.items()})
    before = stored_state(stack)

    result = paystream(
        stack.database_url, "gdpr", "rotate-kek", *(a.format(**fill) for a in args), env=env
    )

    assert message in one_line_refusal(result)
    assert stored_state(stack) == before


def test_a_rotation_keeps_every_data_key_readable(stack: Stack, pool: ConnectionPool[Any]) -> None:
    old = current_kek(stack)
    keys = DataKeys(pool, old)
    cipher = FieldCipher(keys)
    sealed = {name: cipher.seal(name, f"rent from {name}", PLACE) for name in ("ann", "ben")}
    gone = cipher.seal("gus", "rent from gus", PLACE)
    keys.destroy("gus")

    result = paystream(
        stack.database_url, "gdpr", "rotate-kek", "--new-kek-id", "rotated", env=kek_env(stack)
    )

    assert result.returncode == 0, result.output
    assert "under KEK 'rotated'" in result.stdout
    new = file_kek(stack.kek_dir, "rotated")
    assert verified_kek(
        stack.db.role_conninfo(ROLE), KekSettings(kek_dir=stack.kek_dir, kek_id="rotated")
    )
    fresh = FieldCipher(DataKeys(pool, new))  # a process restarted with the new KEK
    assert {name: fresh.open(value, PLACE) for name, value in sealed.items()} == {
        "ann": "rent from ann",
        "ben": "rent from ben",
    }
    assert fresh.open(gone, PLACE) is ERASED
    with pytest.raises(WrongKek, match="wrapped under KEK 'rotated'"):
        DataKeys(pool, old).key_for("newcomer")  # a process still on the old KEK


def test_a_rotation_to_a_kek_from_the_environment_keeps_keys_readable(
    stack: Stack, pool: ConnectionPool[Any]
) -> None:
    old = current_kek(stack)
    sealed = FieldCipher(DataKeys(pool, old)).seal("ivy", "Ivy", PLACE)
    new_key = bytes(range(32))
    env = {
        "PAYSTREAM_KEK_PROVIDER": "env",
        "PAYSTREAM_KEK_ID": old.kek_id,
        "PAYSTREAM_KEK": base64.b64encode(
            key_file(stack.kek_dir, old.kek_id).read_bytes()
        ).decode(),
        "PAYSTREAM_NEW_KEK": base64.b64encode(new_key).decode(),
    }

    result = paystream(stack.database_url, "gdpr", "rotate-kek", "--new-kek-id", "vault-1", env=env)

    assert result.returncode == 0, result.output
    keys = DataKeys(pool, AesGcmKek("vault-1", new_key))
    assert FieldCipher(keys).open(sealed, PLACE) == "Ivy"
