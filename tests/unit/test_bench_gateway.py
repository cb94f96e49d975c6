"""`paystream bench gateway` and `bench rate-limit`: their figures (percentiles, the
gateway's added latency, the admitted ratio), the limits read from Envoy's configuration,
and every way they refuse to run: one line, exit 2."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gateway.envoy_config import bootstrap
from gateway.layouts import local_config, oidc_issuer
from gateway.rate_limits import RateLimits, TokenBucket
from scripts.benchmarks.gateway_stack import (
    GatewayLimits,
    UnexpectedAnswer,
    limits_in,
    paced_subjects,
)
from scripts.benchmarks.latency import Comparison, Path, comparison_lines, path_line, percentile
from scripts.benchmarks.rate_limit import Tally, binding_limit, expected_admitted, report_lines
from scripts.cli.errors import CANNOT_RUN
from scripts.cli.root import app
from scripts.devstack.embedded import free_port
from tests.support.cli import refusal
from tests.support.issuer import ISSUER, dev_issuer

NO_OIDC = {"OIDC_ISSUER": None, "OIDC_AUDIENCE": None, "PAYSTREAM_ISSUER_DIR": None}


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(n) for n in range(100, 0, -1)]

    assert [percentile(samples, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0


@pytest.mark.parametrize("samples, percent", [([], 50), ([1.0], 0), ([1.0], 101)])
def test_a_percentile_of_nothing_or_out_of_range_is_refused(
    samples: list[float], percent: float
) -> None:
    with pytest.raises(ValueError):
        percentile(samples, percent)


def path_of(samples: list[float], *failed: int) -> Path:
    path = Path()
    for sample in samples:
        path.record(200, sample)
    for status in failed:
        path.record(status, 1.0)
    return path


def test_a_comparison_reports_both_paths_and_what_the_gateway_adds() -> None:
    direct = path_of([1.0] * 98 + [2.0, 10.0])
    gateway = path_of([1.5] * 98 + [3.0, 12.0])

    lines = comparison_lines(Comparison("read", direct, gateway))

    assert lines[0].split() == ["read", "direct", "100", "1.00", "1.00", "2.00", "10.00"]
    assert lines[1].split() == ["read", "gateway", "100", "1.50", "1.50", "3.00", "12.00"]
    assert lines[2] == "  gateway adds: p50 +0.50 ms, p99 +1.00 ms"


def test_failed_answers_are_counted_by_status_not_timed() -> None:
    path = path_of([2.0], 429, 429, 503)

    assert path.samples == [2.0]
    assert path_line("deposit gateway", path).endswith("(failed: 2 x 429, 1 x 503)")
    assert "no successful answer" in path_line("deposit gateway", path_of([], 401))
    assert len(comparison_lines(Comparison("deposit", path, path_of([], 401)))) == 2


LIMITS = RateLimits(TokenBucket(8, 4, 0.5), TokenBucket(30, 15))


def envoy_bootstrap(limits: RateLimits) -> dict[str, Any]:
    return bootstrap(local_config(8000, 9901, oidc_issuer(ISSUER), rate_limits=limits))


def without_empty_values(value: Any) -> Any:
    """`value` as Envoy's admin config dump shows it: empty strings left out."""
    if isinstance(value, dict):
        return {k: without_empty_values(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [without_empty_values(v) for v in value]
    return value


@pytest.mark.parametrize("shown", [lambda c: c, without_empty_values])
def test_the_limits_are_read_from_the_envoy_configuration(shown: Any) -> None:
    dump = {"configs": [{"static_listeners": [shown(envoy_bootstrap(LIMITS))]}]}

    assert limits_in(dump) == GatewayLimits(LIMITS.per_subject, LIMITS.per_client_ip)


def test_a_configuration_without_the_limits_is_refused() -> None:
    with pytest.raises(UnexpectedAnswer, match="no subject rate limit"):
        limits_in({"configs": []})


def test_the_pace_stays_under_both_limits() -> None:
    defaults = RateLimits()

    assert paced_subjects(GatewayLimits(defaults.per_subject, defaults.per_client_ip)) == (5, 80)
    assert paced_subjects(GatewayLimits(TokenBucket(10, 50), TokenBucket(10, 20))) == (1, 16)


def test_the_expected_admitted_count_is_the_burst_then_the_rate() -> None:
    limits = GatewayLimits(TokenBucket(40, 5), TokenBucket(10, 20))

    assert expected_admitted(TokenBucket(40, 10, 0.5), 2.0) == 80
    assert binding_limit(limits, 1.0) == ("per client address", TokenBucket(10, 20))
    assert binding_limit(limits, 100.0)[0] == "per subject"


def test_the_rate_limit_report_gives_the_ratio_and_the_429s_answers() -> None:
    tally = Tally(
        sent=1000, admitted=138, refused=862, with_retry_after=862, as_problem=431, elapsed=5.0
    )
    limits = GatewayLimits(TokenBucket(40, 20), TokenBucket(200, 100))

    lines = report_lines(tally, limits)

    assert lines[1] == (
        "admitted 138 (27.6/s); configured per subject: burst 40 + 20/s -> expected 140"
    )
    assert lines[2] == "admitted / expected: 0.986"
    assert lines[3] == "429 answers: 862; with Retry-After: 100.0%; problem+json: 50.0%"
    assert report_lines(Tally(sent=3, admitted=3, elapsed=0.5), limits)[-1].startswith(
        "429 answers: none"
    )


def bench(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, ["bench", *args], env={"COLUMNS": "200", **NO_OIDC, **env})


@pytest.mark.parametrize("command", ["gateway", "rate-limit"])
def test_an_issuer_dir_without_a_key_is_one_line(command: str, tmp_path: FilePath) -> None:
    result = bench(command, "--issuer-dir", str(tmp_path))

    assert refusal(result).startswith(f"error: no signing key in {tmp_path}: run `paystream up`")


@pytest.mark.parametrize("command", ["gateway", "rate-limit"])
def test_another_trusted_issuer_is_one_line(command: str, tmp_path: FilePath) -> None:
    issuer = dev_issuer(tmp_path)
    result = bench(
        command, "--issuer-dir", str(issuer.directory.path), OIDC_ISSUER="https://idp.example"
    )

    assert refusal(result).startswith("error: OIDC_ISSUER is https://idp.example, not")


@pytest.mark.parametrize(
    "command, option, what",
    [
        ("gateway", "--command-url", "accounts command API"),
        ("rate-limit", "--gateway-url", "gateway"),
    ],
)
def test_a_stack_that_is_not_running_is_one_line(
    command: str, option: str, what: str, tmp_path: FilePath
) -> None:
    issuer = dev_issuer(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"

    result = bench(command, "--issuer-dir", str(issuer.directory.path), option, url)

    assert refusal(result) == (
        f"error: cannot reach the {what} at {url}/readyz"
        " ([Errno 111] Connection refused); is `paystream up` running?"
    )


@pytest.mark.parametrize(
    "args, option",
    [
        (["gateway", "--requests", "0"], "--requests"),
        (["gateway", "--warmup", "-1"], "--warmup"),
        (["rate-limit", "--seconds", "0.1"], "--seconds"),
        (["rate-limit", "--seconds", "121"], "--seconds"),
    ],
)
def test_options_out_of_range_are_refused_before_anything_runs(
    args: list[str], option: str
) -> None:
    result = bench(*args)

    assert result.exit_code == CANNOT_RUN
    assert f"Error: Invalid value for '{option}'" in result.stderr
