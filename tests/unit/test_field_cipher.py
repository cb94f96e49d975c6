"""A personal field sealed under its subject's data key: it opens in its own place only,
a tampered value is an error, and a destroyed key opens as the erased marker."""

from __future__ import annotations

import json
import os
import uuid
from uuid import UUID

import pytest

from eventstore.personal_data.data_keys import DataKey
from eventstore.personal_data.field_cipher import (
    ERASED,
    FieldCipher,
    FieldPlace,
    FieldTampered,
    is_sealed,
)
from eventstore.personal_data.kek import KEY_BYTES

ACCOUNT = UUID(int=7)
OWNER = FieldPlace(ACCOUNT, 1, "owner")


class InMemoryKeys:
    """Data keys in a dict (the cipher's half of eventstore/personal_data/data_keys.py)."""

    def __init__(self) -> None:
        self.keys: dict[str, DataKey] = {}
        self.destroyed: set[UUID] = set()

    def key_for(self, subject: str) -> DataKey:
        if subject not in self.keys:
            self.keys[subject] = DataKey(subject, uuid.uuid4(), os.urandom(KEY_BYTES))
        return self.keys[subject]

    def by_id(self, key_id: UUID) -> DataKey | None:
        if key_id in self.destroyed:
            return None
        return next(key for key in self.keys.values() if key.key_id == key_id)

    def destroy(self, subject: str) -> None:
        self.destroyed.add(self.keys[subject].key_id)


@pytest.fixture
def keys() -> InMemoryKeys:
    return InMemoryKeys()


@pytest.fixture
def cipher(keys: InMemoryKeys) -> FieldCipher:
    return FieldCipher(keys)


def test_a_sealed_field_opens_to_its_plaintext_in_its_own_place(cipher: FieldCipher) -> None:
    sealed = cipher.seal("alice", "Alice Liddell", OWNER)

    assert cipher.open(sealed, OWNER) == "Alice Liddell"


def test_the_sealed_form_is_one_json_string_naming_the_key_and_never_the_plaintext(
    cipher: FieldCipher, keys: InMemoryKeys
) -> None:
    sealed = cipher.seal("alice", "Alice Liddell", OWNER)

    version, key_id, nonce, ciphertext = sealed.split(".")
    assert (version, key_id) == ("pd1", str(keys.keys["alice"].key_id))
    assert nonce and ciphertext and "Alice" not in sealed
    assert json.loads(json.dumps(sealed)) == sealed
    assert is_sealed(sealed) and not is_sealed("Alice Liddell")


def test_each_seal_takes_a_fresh_nonce(cipher: FieldCipher) -> None:
    assert cipher.seal("alice", "Alice", OWNER) != cipher.seal("alice", "Alice", OWNER)


@pytest.mark.parametrize(
    "elsewhere",
    [
        FieldPlace(UUID(int=8), 1, "owner"),  # another event's aggregate
        FieldPlace(ACCOUNT, 2, "owner"),  # another version of it
        FieldPlace(ACCOUNT, 1, "reference"),  # another field
    ],
)
def test_a_sealed_field_does_not_open_in_another_place(
    cipher: FieldCipher, elsewhere: FieldPlace
) -> None:
    sealed = cipher.seal("alice", "Alice Liddell", OWNER)

    with pytest.raises(FieldTampered, match="does not open"):
        cipher.open(sealed, elsewhere)


def test_a_tampered_ciphertext_is_an_error(cipher: FieldCipher) -> None:
    version, key_id, nonce, ciphertext = cipher.seal("alice", "Alice", OWNER).split(".")
    flipped = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]

    with pytest.raises(FieldTampered):
        cipher.open(".".join((version, key_id, nonce, flipped)), OWNER)


def test_a_value_sealed_under_another_subjects_key_is_an_error(
    cipher: FieldCipher, keys: InMemoryKeys
) -> None:
    _, _, nonce, ciphertext = cipher.seal("alice", "Alice", OWNER).split(".")
    bobs = keys.key_for("bob").key_id

    with pytest.raises(FieldTampered):
        cipher.open(f"pd1.{bobs}.{nonce}.{ciphertext}", OWNER)


@pytest.mark.parametrize(
    "malformed", ["Alice", "pd1.not-a-uuid.AAAA.AAAA", f"pd2.{UUID(int=1)}.AAAA.AAAA", "pd1.."]
)
def test_a_malformed_value_is_an_error(cipher: FieldCipher, malformed: str) -> None:
    with pytest.raises(FieldTampered, match="not a sealed value"):
        cipher.open(malformed, OWNER)


def test_a_field_whose_key_is_destroyed_opens_as_the_erased_marker(
    cipher: FieldCipher, keys: InMemoryKeys
) -> None:
    alices = cipher.seal("alice", "Alice", OWNER)
    bobs = cipher.seal("bob", "Bob", OWNER)

    keys.destroy("alice")

    assert cipher.open(alices, OWNER) is ERASED
    assert str(ERASED) == "[erased]"
    assert cipher.open(bobs, OWNER) == "Bob"
