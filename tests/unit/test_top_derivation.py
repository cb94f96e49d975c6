"""`paystream top` derives its view from two scrapes of recorded /metrics texts: rates
and latency quantiles from counter and bucket deltas, projection states (halted from the
projector, stalled decided across refreshes), the saga's figures and the alarms."""

from __future__ import annotations

import pytest

from scripts.top.frame import Frame, frame
from scripts.top.projection_states import HALTED, LIVE, STALL_REFRESHES, STALLED, StallWatch
from scripts.top.samples import parse, quantile
from scripts.top.scrape import Scrape

API_BEFORE = """\
# TYPE paystream_http_requests_total counter
paystream_http_requests_total{method="POST",route="/accounts",status="201"} 100.0
paystream_http_requests_total{method="POST",route="/accounts",status="500"} 1.0
paystream_http_requests_total{method="GET",route="/metrics",status="200"} 7.0
# TYPE paystream_http_request_duration_seconds histogram
paystream_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/accounts"} 40.0
paystream_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/accounts"} 80.0
paystream_http_request_duration_seconds_bucket{le="0.025",method="POST",route="/accounts"} 101.0
paystream_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/accounts"} 101.0
paystream_http_request_duration_seconds_count{method="POST",route="/accounts"} 101.0
paystream_http_request_duration_seconds_sum{method="POST",route="/accounts"} 0.9
"""
# Two seconds later: 98 more created, 2 more failed, 8 more scrapes (not counted).
API_AFTER = """\
# TYPE paystream_http_requests_total counter
paystream_http_requests_total{method="POST",route="/accounts",status="201"} 198.0
paystream_http_requests_total{method="POST",route="/accounts",status="500"} 3.0
paystream_http_requests_total{method="GET",route="/metrics",status="200"} 15.0
# TYPE paystream_http_request_duration_seconds histogram
paystream_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/accounts"} 90.0
paystream_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/accounts"} 170.0
paystream_http_request_duration_seconds_bucket{le="0.025",method="POST",route="/accounts"} 201.0
paystream_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/accounts"} 201.0
paystream_http_request_duration_seconds_count{method="POST",route="/accounts"} 201.0
paystream_http_request_duration_seconds_sum{method="POST",route="/accounts"} 1.8
"""
RELAY = """\
# TYPE paystream_relay_published_position gauge
paystream_relay_published_position{{context="accounts"}} {published}
"""
PROJECTOR = """\
# TYPE paystream_projection_position gauge
paystream_projection_position{{projection="account_summary",source="accounts"}} {position}
# TYPE paystream_projection_lag_events gauge
paystream_projection_lag_events{{projection="account_summary",source="accounts"}} {lag}
# TYPE paystream_projection_lag_seconds gauge
paystream_projection_lag_seconds{{projection="account_summary",source="accounts"}} 0.25
# TYPE paystream_projection_halted gauge
paystream_projection_halted{{projection="account_summary"}} {halted}
paystream_projection_halted{{projection="analytics"}} 0.0
"""
SAGA = """\
# TYPE paystream_saga_payments_in_flight gauge
paystream_saga_payments_in_flight 4.0
# TYPE paystream_saga_payments_overdue gauge
paystream_saga_payments_overdue {overdue}
# TYPE paystream_saga_circuit_breaker_state gauge
paystream_saga_circuit_breaker_state{{state="closed",upstream="accounts-api"}} {closed}
paystream_saga_circuit_breaker_state{{state="half_open",upstream="accounts-api"}} 0.0
paystream_saga_circuit_breaker_state{{state="open",upstream="accounts-api"}} {open}
"""


def scraped(service: str, text: str | None, at: float = 0.0, readiness: str = "up") -> Scrape:
    return Scrape(service, readiness, None if text is None else parse(text), at)


def projector(position: int, lag: int, halted: int = 0) -> Scrape:
    return scraped("projector", PROJECTOR.format(position=position, lag=lag, halted=halted))


def relay(published: int) -> Scrape:
    return scraped("relay", RELAY.format(published=published))


def refreshes(watch: StallWatch, *scrapes: list[Scrape]) -> list[Frame]:
    return [frame({}, each, watch) for each in scrapes]


def test_rates_come_from_the_counters_growth_between_two_scrapes() -> None:
    before, after = scraped("api", API_BEFORE, at=10.0), scraped("api", API_AFTER, at=12.0)

    [row] = frame({"api": before}, [after], StallWatch()).services

    assert row.requests_per_second == pytest.approx(100 / 2)  # the /metrics scrapes left out
    assert row.errors_per_second == pytest.approx(2 / 2)


def test_latency_quantiles_come_from_the_buckets_growth() -> None:
    before, after = scraped("api", API_BEFORE, at=10.0), scraped("api", API_AFTER, at=12.0)

    [row] = frame({"api": before}, [after], StallWatch()).services

    # Of the 100 new requests: 50 up to 5 ms, 40 more up to 10 ms, 10 more up to 25 ms.
    assert row.p50_seconds == pytest.approx(0.005)
    assert row.p99_seconds == pytest.approx(0.01 + 0.015 * (99 - 90) / (100 - 90))


def test_a_first_scrape_has_no_rates_yet() -> None:
    [row] = frame({}, [scraped("api", API_AFTER)], StallWatch()).services

    assert (row.requests_per_second, row.p50_seconds) == (None, None)


def test_a_counter_lower_than_before_was_reset_and_counts_from_zero() -> None:
    before, after = scraped("api", API_AFTER, at=10.0), scraped("api", API_BEFORE, at=11.0)

    [row] = frame({"api": before}, [after], StallWatch()).services

    assert row.requests_per_second == pytest.approx(101)
    assert row.errors_per_second == pytest.approx(1)


def test_a_quantile_beyond_the_highest_bucket_is_that_bound_and_none_without_observations() -> None:
    assert quantile(0.99, {0.1: 0.0, 1.0: 5.0, float("inf"): 100.0}) == 1.0
    assert quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.5, {}) is None


def test_a_projection_behind_without_moving_is_stalled_after_the_refreshes() -> None:
    frames = refreshes(StallWatch(), *([projector(40, 3)] for _ in range(STALL_REFRESHES + 1)))

    states = [shown.projections[0].state for shown in frames]
    assert states == [LIVE] * STALL_REFRESHES + [STALLED]
    assert frames[-1].alarms == ["projection account_summary (accounts) stalled"]


def test_a_projection_that_moves_or_catches_up_is_live() -> None:
    moving = [[projector(40 + n, 3)] for n in range(STALL_REFRESHES + 1)]
    catching_up = [[projector(40, 3 + STALL_REFRESHES - n)] for n in range(STALL_REFRESHES + 1)]
    idle = [[projector(40, 0)] for _ in range(STALL_REFRESHES + 1)]

    for scrapes in (moving, catching_up, idle):
        shown = refreshes(StallWatch(), *scrapes)[-1]
        assert shown.projections[0].state == LIVE, scrapes


def test_a_projection_the_relay_published_past_is_behind_though_its_lag_says_0() -> None:
    scrapes = [[relay(45), projector(40, 0)] for _ in range(STALL_REFRESHES + 1)]

    assert refreshes(StallWatch(), *scrapes)[-1].projections[0].state == STALLED


def test_a_halted_projection_is_halted_at_once() -> None:
    [shown] = refreshes(StallWatch(), [projector(40, 0, halted=1)])

    summary, analytics = shown.projections
    assert (summary.projection, summary.position, summary.lag_events) == ("account_summary", 40, 0)
    assert summary.state == HALTED
    # A projector that applied nothing yet shows its projection without a source.
    assert (analytics.projection, analytics.source, analytics.state) == ("analytics", None, LIVE)
    assert shown.alarms == ["projection account_summary (accounts) halted"]


def test_the_saga_shows_payments_and_breakers_and_alarms_on_overdue_or_open() -> None:
    calm = SAGA.format(overdue=0, closed=1, open=0)
    alarming = SAGA.format(overdue=2, closed=0, open=1)

    [quiet] = refreshes(StallWatch(), [scraped("saga", calm)])
    [loud] = refreshes(StallWatch(), [scraped("saga", alarming)])

    assert (quiet.saga.in_flight, quiet.saga.overdue, quiet.saga.breakers) == (
        4,
        0,
        {"accounts-api": "closed"},
    )
    assert quiet.alarms == []
    assert loud.alarms == ["circuit breaker to accounts-api open", "2 payments overdue"]


def test_a_service_down_or_not_ready_is_an_alarm_first() -> None:
    scrapes = [
        scraped("saga", SAGA.format(overdue=1, closed=1, open=0)),
        scraped("accounts-api", None, readiness="down"),
        scraped("payments-api", None, readiness="not ready: nats not connected"),
    ]

    [shown] = refreshes(StallWatch(), scrapes)

    assert shown.alarms == [
        "accounts-api down",
        "payments-api not ready: nats not connected",
        "1 payment overdue",
    ]
    assert [row.requests_per_second for row in shown.services] == [None, None, None]


GROUP = """\
# TYPE paystream_projection_position gauge
paystream_projection_position{projection="account_statement",source="accounts"} 30.0
paystream_projection_position{projection="account_summary",source="accounts"} 40.0
# TYPE paystream_projection_halted gauge
paystream_projection_halted{projection="account_statement"} 1.0
paystream_projection_halted{projection="account_summary"} 0.0
"""


def test_a_group_process_shows_each_projection_with_its_own_state() -> None:
    [shown] = refreshes(StallWatch(), [relay(40), scraped("projector-accounts-group", GROUP)])

    statement, summary = shown.projections
    assert (statement.projection, statement.position, statement.state) == (
        "account_statement",
        30,
        HALTED,
    )
    assert (summary.projection, summary.position, summary.state) == ("account_summary", 40, LIVE)
    assert shown.alarms == ["projection account_statement (accounts) halted"]
