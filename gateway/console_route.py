"""The console behind the gateway: every path under /console to the console service, with
no token required at the gateway (a browser brings the console's session cookie, not a
bearer token; the console verifies the token inside that cookie itself)."""

from __future__ import annotations

from typing import Any

from gateway.clusters import seconds

CONSOLE_CLUSTER = "console"
CONSOLE_PREFIX = "/console"
# The whole path, query excluded: /console, or anything under /console/ (not /consoles).
CONSOLE_PATH_REGEX = r"^/console(/.*)?$"
CONSOLE_TIMEOUT_SECONDS = 10.0


def console_route() -> dict[str, Any]:
    """Every method under /console to the console; not retried (its sign-out is a POST)."""
    return {
        "name": "console",
        "match": {"safe_regex": {"regex": CONSOLE_PATH_REGEX}},
        "route": {"cluster": CONSOLE_CLUSTER, "timeout": seconds(CONSOLE_TIMEOUT_SECONDS)},
    }


def console_token_rule() -> dict[str, Any]:
    """The jwt_authn rule that lets the console's paths through without a bearer token."""
    return {"match": {"safe_regex": {"regex": CONSOLE_PATH_REGEX}}}
