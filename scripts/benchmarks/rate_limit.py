"""`paystream bench rate-limit`: how closely the gateway admits its configured rate.

A fresh subject (a unique `sub`, so its bucket starts full) sends GET /payments through
the gateway as fast as one client can for `seconds`. Expected admitted: the burst plus
the rate times the elapsed time, of the per-subject bucket (or of the per-client-address
one, if that admits fewer). Every 429 is checked for `Retry-After` and problem+json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from rich.console import Console

from api.problems import PROBLEM_MEDIA_TYPE
from gateway.rate_limits import TokenBucket
from scripts.benchmarks.gateway_stack import (
    GatewayLimits,
    Mint,
    bearer,
    check_reachable,
    configured_limits,
    gateway_probes,
    rate,
    unique_subject,
)
from scripts.cli.progress import progress_bar

TOO_MANY = 429


@dataclass
class Tally:
    """What one window of requests got back."""

    sent: int = 0
    admitted: int = 0
    refused: int = 0
    with_retry_after: int = 0
    as_problem: int = 0
    elapsed: float = 0.0

    def count(self, response: httpx.Response) -> None:
        self.sent += 1
        if response.status_code != TOO_MANY:
            self.admitted += 1
            return
        self.refused += 1
        self.with_retry_after += "retry-after" in response.headers
        media_type = response.headers.get("content-type", "")
        self.as_problem += media_type.startswith(PROBLEM_MEDIA_TYPE)


def expected_admitted(bucket: TokenBucket, seconds: float) -> float:
    """A full bucket's burst, then its rate for `seconds`."""
    return bucket.max_tokens + rate(bucket) * seconds


def binding_limit(limits: GatewayLimits, seconds: float) -> tuple[str, TokenBucket]:
    """The limit that admits fewer requests of one subject from one address in `seconds`."""
    candidates = [("per subject", limits.subject), ("per client address", limits.client_ip)]
    return min(candidates, key=lambda named: expected_admitted(named[1], seconds))


def run_rate_limit_bench(
    gateway_url: str, admin_url: str, mint: Mint, seconds: float, console: Console
) -> None:
    """Send as fast as one client can for `seconds`; print admitted/s against the limit."""
    tally = Tally()
    with httpx.Client(timeout=30, headers=bearer(mint(unique_subject("bench-limit")))) as http:
        check_reachable(http, gateway_probes(gateway_url, admin_url))
        limits = configured_limits(http, admin_url)
        with progress_bar(console, "requests") as progress:
            task = progress.add_task("as fast as possible", total=None)
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                tally.count(http.get(f"{gateway_url}/payments"))
                progress.advance(task)
            tally.elapsed = time.perf_counter() - started
    for line in report_lines(tally, limits):
        console.print(line, highlight=False)


def report_lines(tally: Tally, limits: GatewayLimits) -> list[str]:
    """Admitted against expected, and how the 429s were answered."""
    name, bucket = binding_limit(limits, tally.elapsed)
    expected = expected_admitted(bucket, tally.elapsed)
    lines = [
        f"sent {tally.sent} requests in {tally.elapsed:.2f} s ({tally.sent / tally.elapsed:.0f}/s),"
        f" one client, one fresh subject",
        f"admitted {tally.admitted} ({tally.admitted / tally.elapsed:.1f}/s); configured {name}:"
        f" burst {bucket.max_tokens} + {rate(bucket):g}/s -> expected {expected:.0f}",
        f"admitted / expected: {tally.admitted / expected:.3f}",
    ]
    if not tally.refused:
        return [
            *lines,
            "429 answers: none: the client never outpaced the limit, so this run does not"
            " measure it (a window shorter than the burst, or a machine too busy)",
        ]
    return [
        *lines,
        f"429 answers: {tally.refused}; with Retry-After:"
        f" {tally.with_retry_after / tally.refused:.1%};"
        f" problem+json: {tally.as_problem / tally.refused:.1%}",
    ]
