"""How often: Envoy's local rate limits, token buckets kept by Envoy itself, one per
value of a key (dynamic descriptors): per client address before the token is checked,
per verified subject after it, and a tighter bucket per subject for creating payments."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gateway.clusters import seconds, typed
from gateway.routes import PublicRoute
from gateway.tokens import JWT_FILTER, PAYLOAD_METADATA

RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
CLIENT_IP_LIMIT = "client_ip"
SUBJECT_LIMIT = "subject"
ALWAYS = {"numerator": 100, "denominator": "HUNDRED"}
CLIENT_IP_KEY = "remote_address"
SUBJECT_KEY = "subject"
OPERATION_KEY = "operation"
PAYMENT_CREATION = "create-payment"


@dataclass(frozen=True)
class TokenBucket:
    """`max_tokens` at once (the burst), refilled by `tokens_per_fill` every `fill_seconds`."""

    max_tokens: int
    tokens_per_fill: int
    fill_seconds: float = 1.0

    def envoy(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "tokens_per_fill": self.tokens_per_fill,
            "fill_interval": seconds(self.fill_seconds),
        }

    @property
    def retry_after(self) -> int:
        """Whole seconds until the bucket has a token again, at most."""
        return max(1, math.ceil(self.fill_seconds))


@dataclass(frozen=True)
class RateLimits:
    """Requests admitted per key; `max_keys` buckets per limit are kept (least recently
    used evicted, which resets that key's bucket)."""

    per_subject: TokenBucket = field(default_factory=lambda: TokenBucket(40, 20))
    per_client_ip: TokenBucket = field(default_factory=lambda: TokenBucket(200, 100))
    payment_creation_per_subject: TokenBucket = field(default_factory=lambda: TokenBucket(10, 5))
    max_keys: int = 10_000


Descriptor = tuple[tuple[tuple[str, str], ...], TokenBucket]  # entries (key, value), bucket


def client_ip_limit(limits: RateLimits) -> dict[str, Any]:
    """Before the token is checked: a bucket per client address (every request counts)."""
    by_client: dict[str, Any] = {"actions": [{"remote_address": {}}]}
    descriptors: list[Descriptor] = [(((CLIENT_IP_KEY, ""),), limits.per_client_ip)]
    return _rate_limit_filter(CLIENT_IP_LIMIT, [by_client], descriptors, limits.max_keys)


def subject_limit(limits: RateLimits, creation: PublicRoute) -> dict[str, Any]:
    """After the token is checked: a bucket per subject (the verified `sub`), and one per
    subject for its payment creations (`creation`)."""
    subject: dict[str, Any] = {
        "metadata": {
            "descriptor_key": SUBJECT_KEY,
            "metadata_key": {
                "key": JWT_FILTER,
                "path": [{"key": PAYLOAD_METADATA}, {"key": "sub"}],
            },
            "source": "DYNAMIC",
            "skip_if_absent": True,
        }
    }
    is_creation: dict[str, Any] = {
        "header_value_match": {
            "descriptor_key": OPERATION_KEY,
            "descriptor_value": PAYMENT_CREATION,
            "headers": [
                {"name": ":method", "string_match": {"exact": creation.method}},
                {
                    "name": ":path",
                    "string_match": {"safe_regex": {"regex": creation.request_regex}},
                },
            ],
        }
    }
    per_subject = ((SUBJECT_KEY, ""),)
    descriptors: list[Descriptor] = [
        (per_subject, limits.per_subject),
        ((*per_subject, (OPERATION_KEY, PAYMENT_CREATION)), limits.payment_creation_per_subject),
    ]
    rate_limits = [{"actions": [subject]}, {"actions": [subject, is_creation]}]
    return _rate_limit_filter(SUBJECT_LIMIT, rate_limits, descriptors, limits.max_keys)


def _rate_limit_filter(
    limit: str, rate_limits: list[dict[str, Any]], descriptors: list[Descriptor], max_keys: int
) -> dict[str, Any]:
    """A local rate limit: each request's `rate_limits` give its descriptors, each
    matched by one of `descriptors` (an empty value: a bucket per distinct value).
    A request that matches none is not limited by this filter."""
    retry_after = max(bucket.retry_after for _, bucket in descriptors)
    config = typed(
        "filters.http.local_ratelimit.v3.LocalRateLimit",
        stat_prefix=f"rate_limit_{limit}",
        rate_limits=rate_limits,
        filter_enabled={"runtime_key": "rate_limit_enabled", "default_value": ALWAYS},
        filter_enforced={"runtime_key": "rate_limit_enforced", "default_value": ALWAYS},
        descriptors=[
            {
                "entries": [{"key": key, "value": value} for key, value in entries],
                "token_bucket": bucket.envoy(),
            }
            for entries, bucket in descriptors
        ],
        always_consume_default_token_bucket=False,
        max_dynamic_descriptors=max_keys,
        enable_x_ratelimit_headers="DRAFT_VERSION_03",
        response_headers_to_add=[
            {
                "header": {"key": "retry-after", "value": str(retry_after)},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
    )
    return {"name": f"{RATE_LIMIT_FILTER}.{limit}", "typed_config": config}
