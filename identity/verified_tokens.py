"""Tokens already verified, kept until they expire: a repeat of one skips the signature
check, the costly part of verifying (an RSA verify per request).

An entry is keyed by the raw token, so a token that differs by one byte is a new one.
It is used only while the token would still verify: before `exp` plus the same leeway
jwt.decode allows, and while its key is still the issuer's current key of that id (the
key cache's rules decide when the key set is fetched again; a key withdrawn from it
makes its tokens unknown again). At most MAX_ENTRIES are kept, the oldest dropped first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from identity.principal import Principal

MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Verified:
    """A verified token's caller, the key that verified it, and when it stops verifying."""

    principal: Principal
    kid: str
    key: jwt.PyJWK
    refused_from: float  # the first moment jwt.decode would refuse it as expired


class VerifiedTokens:
    """A bounded map from raw token to what verifying it found."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, Verified] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Verified | None:
        """What verifying `token` found, if it was verified and is still kept."""
        return self._entries.get(token)

    def expired(self, entry: Verified) -> bool:
        """Whether jwt.decode would now refuse the entry's token as expired."""
        return self.clock() >= entry.refused_from

    def put(self, token: str, entry: Verified) -> None:
        """Remember `entry` for `token`, dropping the oldest entries beyond the bound."""
        with self._lock:
            self._entries[token] = entry
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def drop(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)
