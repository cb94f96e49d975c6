"""Key-encryption keys (KEKs): what wraps each data key. One small interface, so a file, a
variable or (later) a KMS can hold the key; the wrapping is AES-256-GCM."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256, for KEKs and data keys alike
NONCE_BYTES = 12
KEK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KekError(RuntimeError):
    """The configured KEK cannot be used; the message (one line) says why."""


class WrongKek(KekError):
    """The configured KEK cannot unwrap what is stored: another id, or another key."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the KEK named by `kek_id`."""

    wrapped: bytes
    kek_id: str


class KeyEncryptionKey(Protocol):
    """Wraps data keys for storage and unwraps them again."""

    @property
    def kek_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: bytes, kek_id: str) -> bytes: ...


def check_kek_id(kek_id: str) -> str:
    """A KEK id names a file and a setting: letters, digits, `.`, `_`, `-`; 1 to 64."""
    if not KEK_ID.fullmatch(kek_id):
        raise KekError(
            f"KEK id {kek_id!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-'"
        )
    return kek_id


class AesGcmKek:
    """A KEK held in memory: a fresh nonce per wrap, its id bound as associated data, so a
    key wrapped under one id never unwraps under another."""

    def __init__(self, kek_id: str, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KekError(f"KEK {kek_id!r} has {len(key)} bytes; it must have {KEY_BYTES}")
        self._id = check_kek_id(kek_id)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return f"AesGcmKek({self._id!r})"

    @property
    def kek_id(self) -> str:
        return self._id

    def wrap(self, data_key: bytes) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, data_key, self._id.encode())
        return WrappedKey(nonce + sealed, self._id)

    def unwrap(self, wrapped: bytes, kek_id: str) -> bytes:
        if kek_id != self._id:
            raise WrongKek(
                f"stored data keys are wrapped under KEK {kek_id!r}, but the configured KEK"
                f" is {self._id!r}: configure {kek_id!r} (PAYSTREAM_KEK_ID and its key),"
                " or rotate with `paystream gdpr rotate-kek` while it is configured"
            )
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, sealed, self._id.encode())
        except InvalidTag:
            raise WrongKek(
                f"the configured KEK {self._id!r} is not the key the stored data keys were"
                " wrapped with (same id, another key): restore that KEK's key"
            ) from None
