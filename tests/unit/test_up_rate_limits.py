"""`paystream up`'s gateway limits: the defaults, or none that refuse with
PAYSTREAM_GATEWAY_RATE_LIMITS=off (for `bench suite`); anything else is refused before
anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.rate_limits import RateLimits
from scripts.cli.root import app
from scripts.devstack.gateway import UNLIMITED, UnknownRateLimits, up_rate_limits


def test_the_defaults_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYSTREAM_GATEWAY_RATE_LIMITS", raising=False)
    assert up_rate_limits() == RateLimits()
    monkeypatch.setenv("PAYSTREAM_GATEWAY_RATE_LIMITS", "default")
    assert up_rate_limits() == RateLimits()


def test_off_keeps_the_limits_in_the_path_with_buckets_nothing_empties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYSTREAM_GATEWAY_RATE_LIMITS", "Off")
    limits = up_rate_limits()
    assert limits.per_subject == limits.per_client_ip == UNLIMITED
    assert limits.payment_creation_per_subject == UNLIMITED


def test_anything_else_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAYSTREAM_GATEWAY_RATE_LIMITS", "none")
    with pytest.raises(UnknownRateLimits):
        up_rate_limits()
    result = CliRunner().invoke(app, ["up", "--data-dir", str(tmp_path / "up")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: PAYSTREAM_GATEWAY_RATE_LIMITS is 'none'; it is `default` or `off`"
    )
    assert not (tmp_path / "up").exists()
