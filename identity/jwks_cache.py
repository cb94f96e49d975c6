"""An issuer's signing keys, found by OIDC discovery and cached.

The key set is fetched on first use and again once it is LIFESPAN seconds old. A token
whose `kid` is not in the cache (the issuer rotated) fetches it again at once, but at
most once per REFETCH_INTERVAL: tokens with made-up key ids cannot make a service
hammer its issuer. The price: a key that appears within REFETCH_INTERVAL of a fetch is
unknown until the interval has passed (a retry a few seconds later verifies).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from identity.discovery import discovery_url_of, endpoint_of

log = logging.getLogger("paystream.identity")

PINNED_ALGORITHMS = ("RS256", "ES256")
LIFESPAN_SECONDS = 300.0
REFETCH_INTERVAL_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 5.0


class IssuerUnavailable(RuntimeError):
    """The issuer's discovery document or key set cannot be had, and none is cached."""


def usable_keys(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The signature keys of a key set with a `kid` and a pinned algorithm, by kid."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in jwks.get("keys", []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWKError:
            continue  # a key type or algorithm this service does not accept
        if key.key_id and key.algorithm_name in PINNED_ALGORITHMS:
            keys[key.key_id] = key
    return keys


class JwksCache:
    """The signing keys of `issuer`, fetched through `http`, found from the discovery
    document at `discovery_url` (by default the standard place under the issuer)."""

    def __init__(
        self,
        issuer: str,
        http: httpx.Client,
        *,
        discovery_url: str | None = None,
        lifespan: float = LIFESPAN_SECONDS,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.discovery_url = discovery_url or discovery_url_of(issuer)
        self.http = http
        self.lifespan = lifespan
        self.refetch_interval = refetch_interval
        self.clock = clock
        self.fetches = 0  # key-set fetches attempted, for tests and logs
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._jwks_uri: str | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The issuer's key `kid`, or None when the issuer does not publish it."""
        with self._lock:
            age = self.clock() - self._fetched_at
            if self._keys is None or age >= self.lifespan:
                self._refresh()
            elif kid not in self._keys and age >= self.refetch_interval:
                log.info("unknown key id %r: fetching %s's keys again", kid[:64], self.issuer)
                self._refresh()
            return (self._keys or {}).get(kid)

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        """Key `kid` when the cached key set has it and is not due for a fetch, found
        without waiting (an event loop may ask); None otherwise (`key` decides)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            fresh = self.clock() - self._fetched_at < self.lifespan
            return (self._keys or {}).get(kid) if fresh else None
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        """Fetch the key set; on failure keep the cached one, if there is one."""
        self.fetches += 1
        self._fetched_at = self.clock()
        try:
            self._keys = usable_keys(self._get(self.jwks_uri()))
        except (httpx.HTTPError, ValueError, IssuerUnavailable) as error:
            if self._keys is None:
                raise IssuerUnavailable(f"cannot fetch {self.issuer}'s keys: {error}") from error
            log.warning("cannot fetch %s's keys, keeping the cached ones: %s", self.issuer, error)

    def jwks_uri(self) -> str:
        """Where the key set is, from the issuer's discovery document (fetched once)."""
        if self._jwks_uri is None:
            self._jwks_uri = endpoint_of(self._get(self.discovery_url), self.issuer, "jwks_uri")
        return self._jwks_uri

    def _get(self, url: str) -> dict[str, Any]:
        answer = self.http.get(url, timeout=FETCH_TIMEOUT_SECONDS)
        answer.raise_for_status()
        document = answer.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return document
