"""The README's curl session runs as written, through the gateway, against the services."""

from __future__ import annotations

import re

import pytest

from tests.support.readme import run_readme_block
from tests.support.stack import Stack, StackGateway

DEFAULT_PORTS = {
    "8001": "accounts-api",
    "8002": "account-summary-query-api",
    "8101": "relay-accounts",
    "8102": "projector-accounts-group",
}


@pytest.mark.e2e
@pytest.mark.parametrize("run", ["first", "second"])
def test_the_readme_curl_session_works_as_written_and_again(
    run: str, stack: Stack, public_gateway: StackGateway
) -> None:
    """As written, and a second time on the same system (its keys are the run's own)."""
    result = run_readme_block("QUERY=", DEFAULT_PORTS, stack, {"8000": public_gateway.url})

    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert '"balance":7500,"status":"open","version":3' in output
    assert "idempotent-replayed: true" in output
    assert "/problems/insufficient-funds" in output
    assert "/problems/validation-error" in output
    assert "/problems/account-frozen" in output
    assert '"status":"closed","version":7' in output
    # One refusal of each kind: no token, someone else's account, over the rate limit.
    assert "}401\n" in output  # the status code, after the last JSON answer
    assert output.count("/problems/account-not-found") == 1
    assert re.search(r"^ *\d+ 429$", output, re.M), output[-400:]
    assert 'paystream_relay_published_position{context="accounts"}' in output
