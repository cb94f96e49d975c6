"""What the gateway benches need from a running stack: that it answers, the rate limits
its Envoy runs with (read from the admin `/config_dump`), and an account of a subject's
own to read and deposit to."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from api.consistency import HEADER as CONSISTENCY_HEADER
from gateway.rate_limits import (
    CLIENT_IP_KEY,
    CLIENT_IP_LIMIT,
    RATE_LIMIT_FILTER,
    SUBJECT_KEY,
    SUBJECT_LIMIT,
    TokenBucket,
)

Mint = Callable[[str], str]  # a bearer token for a subject


class UnexpectedAnswer(Exception):
    """The stack did not answer as a bench needs: the message says what and where."""


@dataclass(frozen=True)
class StackUrls:
    """Where a bench reaches the stack: directly (the command and query APIs) and
    through the gateway (its public port and its admin interface)."""

    command: str
    query: str
    gateway: str
    admin: str

    def probes(self) -> dict[str, str]:
        return {
            "accounts command API": f"{self.command}/readyz",
            "account summary query API": f"{self.query}/readyz",
        } | gateway_probes(self.gateway, self.admin)


@dataclass(frozen=True)
class GatewayLimits:
    """The gateway's per-subject and per-client-address token buckets."""

    subject: TokenBucket
    client_ip: TokenBucket


def rate(bucket: TokenBucket) -> float:
    """Tokens per second, once the burst is spent."""
    return bucket.tokens_per_fill / bucket.fill_seconds


def gateway_probes(gateway_url: str, admin_url: str) -> dict[str, str]:
    """What answers when the gateway and its admin interface are up, by name."""
    return {"gateway": f"{gateway_url}/readyz", "gateway admin": f"{admin_url}/ready"}


def check_reachable(http: httpx.Client, probes: Mapping[str, str]) -> None:
    """Any HTTP answer from each probe, or UnexpectedAnswer naming the first without one."""
    for what, url in probes.items():
        try:
            http.get(url, timeout=3)
        except httpx.TransportError as error:
            raise UnexpectedAnswer(
                f"cannot reach the {what} at {url} ({error or type(error).__name__});"
                " is `paystream up` running?"
            ) from None


def configured_limits(http: httpx.Client, admin_url: str) -> GatewayLimits:
    """The limits of the running gateway, from its admin `/config_dump`."""
    dump = expect(http.get(f"{admin_url}/config_dump", timeout=10), "the gateway admin")
    return limits_in(dump.json())


def limits_in(config: Any) -> GatewayLimits:
    """The per-subject and per-client-address buckets of an Envoy config (a bootstrap or
    an admin config dump)."""
    return GatewayLimits(
        subject=_bucket(config, SUBJECT_LIMIT, SUBJECT_KEY),
        client_ip=_bucket(config, CLIENT_IP_LIMIT, CLIENT_IP_KEY),
    )


def _bucket(config: Any, limit: str, key: str) -> TokenBucket:
    name = f"{RATE_LIMIT_FILTER}.{limit}"
    for node in _dicts(config):
        if node.get("name") != name or "typed_config" not in node:
            continue
        for descriptor in node["typed_config"].get("descriptors", []):
            entries = [(e["key"], e.get("value", "")) for e in descriptor["entries"]]
            if entries == [(key, "")]:  # a config dump leaves the empty value out
                bucket = descriptor["token_bucket"]
                return TokenBucket(
                    int(bucket["max_tokens"]),
                    int(bucket.get("tokens_per_fill", 1)),
                    float(str(bucket["fill_interval"]).removesuffix("s")),
                )
    raise UnexpectedAnswer(f"the gateway's configuration has no {limit} rate limit ({name})")


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _dicts(inner)


def expect(response: httpx.Response, what: str) -> httpx.Response:
    """`response` if it is a success, else UnexpectedAnswer with its status and detail."""
    if response.is_success:
        return response
    detail = response.text[:200]
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        detail = str(response.json().get("detail", detail))
    raise UnexpectedAnswer(
        f"{what} answered {response.status_code} to {response.request.method}"
        f" {response.request.url}: {detail}"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_subject(prefix: str) -> str:
    """A subject no one used before, so its rate-limit bucket starts full."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def own_account(http: httpx.Client, urls: StackUrls, token: str) -> str:
    """A new account held by the token's subject, once the summary query API shows it."""
    headers = bearer(token)
    opened = expect(
        http.post(
            f"{urls.command}/accounts",
            json={"owner": "Bench", "currency": "EUR"},
            headers=headers,
        ),
        "the accounts command API",
    )
    account_id = str(opened.json()["account_id"])
    consistent = headers | {CONSISTENCY_HEADER: opened.headers[CONSISTENCY_HEADER]}
    expect(
        http.get(f"{urls.query}/accounts/{account_id}", headers=consistent, timeout=30),
        "the account summary query API",
    )
    return account_id


def paced_subjects(limits: GatewayLimits, margin: float = 0.8) -> tuple[int, float]:
    """How many subjects, and how many gateway requests per second, keep a run under
    both limits with `margin` to spare: the client address's rate, shared by enough
    subjects that none exceeds its own."""
    subjects = max(1, min(16, math.ceil(rate(limits.client_ip) / rate(limits.subject))))
    return subjects, margin * min(rate(limits.client_ip), subjects * rate(limits.subject))
