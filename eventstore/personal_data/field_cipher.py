"""Sealing one field of one event under its subject's data key, and opening it again.

The sealed form is one JSON-friendly string, `pd1.<key id>.<nonce>.<ciphertext>`: a
version, the data key's UUID, the 96-bit nonce and the AES-256-GCM ciphertext with its
tag, both base64url without padding. The associated data is the version, the key id and
the field's place (the event's originator id and version, and the field's name), so a
sealed value copied to another event or field does not open. A destroyed key opens as
ERASED, never as an error; a tampered value is an error.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Final, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domains.erasure import ERASED_TEXT
from eventstore.personal_data.data_keys import DataKey
from eventstore.personal_data.kek import NONCE_BYTES

VERSION = "pd1"


class Erased:
    """What a field whose data key is destroyed opens as; shown as `[erased]`."""

    def __repr__(self) -> str:
        return "ERASED"

    def __str__(self) -> str:
        return ERASED_TEXT


ERASED: Final = Erased()


class FieldTampered(ValueError):
    """A sealed value that is malformed, altered, or opened in another field's place."""


class Keys(Protocol):
    """What the cipher needs of the data keys (eventstore/personal_data/data_keys.py)."""

    def key_for(self, subject: str) -> DataKey: ...

    def by_id(self, key_id: UUID) -> DataKey | None: ...


@dataclass(frozen=True)
class FieldPlace:
    """Where a sealed value belongs: one field of one event."""

    originator_id: UUID
    originator_version: int
    field: str

    def associated_data(self, key_id: UUID) -> bytes:
        place = f"{self.originator_id}|{self.originator_version}|{self.field}"
        return f"{VERSION}|{key_id}|{place}".encode()


def is_sealed(value: object) -> bool:
    """Whether `value` has the sealed form (events written before encryption do not)."""
    return isinstance(value, str) and value.startswith(f"{VERSION}.")


class FieldCipher:
    """Seals a subject's field values and opens them, finding keys through `keys`."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def seal(self, subject: str, plaintext: str, place: FieldPlace) -> str:
        key = self._keys.key_for(subject)
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.key).encrypt(
            nonce, plaintext.encode(), place.associated_data(key.key_id)
        )
        return ".".join((VERSION, str(key.key_id), _b64(nonce), _b64(sealed)))

    def open(self, sealed: str, place: FieldPlace) -> str | Erased:
        return open_with_key(self._keys.by_id(sealed_key_id(sealed)), sealed, place)


def sealed_marker(key_id: UUID) -> bytes:
    """What every value sealed under `key_id` starts with, as stored (to find them)."""
    return f"{VERSION}.{key_id}.".encode()


def sealed_key_id(sealed: str) -> UUID:
    """The id of the data key a sealed value was sealed under (FieldTampered if malformed)."""
    return _parts(sealed)[0]


def open_with_key(key: DataKey | None, sealed: str, place: FieldPlace) -> str | Erased:
    """Open `sealed` with the key it names, found already (None: destroyed, so ERASED)."""
    key_id, nonce, ciphertext = _parts(sealed)
    if key is None:
        return ERASED
    try:
        plaintext = AESGCM(key.key).decrypt(nonce, ciphertext, place.associated_data(key_id))
    except InvalidTag:
        raise FieldTampered(
            f"sealed {place.field} of {place.originator_id} v{place.originator_version}"
            " does not open: altered, or not this field's"
        ) from None
    return plaintext.decode()


def _parts(sealed: str) -> tuple[UUID, bytes, bytes]:
    parts = sealed.split(".")
    try:
        version, key_id, nonce, ciphertext = parts
        if version != VERSION:
            raise ValueError(version)
        nonce_bytes = _unb64(nonce)
        if len(nonce_bytes) != NONCE_BYTES:
            raise ValueError(nonce)
        return UUID(key_id), nonce_bytes, _unb64(ciphertext)
    except (ValueError, binascii.Error):
        raise FieldTampered(f"not a sealed value: {sealed[:40]!r}") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
