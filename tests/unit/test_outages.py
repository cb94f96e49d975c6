"""A failure that repeats is logged once, then summarised at most every 10 s, then its
end once: a 60-second outage costs a handful of lines, not thousands."""

from __future__ import annotations

import logging

import pytest

from eventstore.outages import Outage, reason


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def outage_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_the_first_failure_is_logged_with_its_reason(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("t"), "projector x", clock=clock)
    with caplog.at_level(logging.INFO):
        outage.failed(ConnectionRefusedError("connection refused"))
    assert outage_log(caplog) == ["projector x failed: ConnectionRefusedError: connection refused"]


def test_a_minute_of_failures_every_100ms_logs_at_most_eight_lines(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("t"), "projector x", clock=clock)
    with caplog.at_level(logging.INFO):
        for attempt in range(600):
            outage.failed(OSError(f"the connection is lost ({attempt})"))
            clock.now += 0.1
        outage.recovered()
    lines = outage_log(caplog)
    assert 6 <= len(lines) <= 8
    assert "still failing" in lines[1]
    assert "(599)" in lines[-1]
    assert lines[-1].startswith("projector x recovered after 60.0s (600 failures")


def test_recovery_without_a_failure_logs_nothing(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("t"), "projector x", clock=clock)
    with caplog.at_level(logging.INFO):
        outage.recovered()
    assert outage_log(caplog) == []


def test_after_recovery_a_new_failure_is_logged_again(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("t"), "relay", clock=clock)
    with caplog.at_level(logging.INFO):
        outage.failed(OSError("first"))
        outage.recovered()
        outage.failed(OSError("second"))
    assert outage_log(caplog)[-1] == "relay failed: OSError: second"


def test_a_traceback_is_logged_only_when_asked_for(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("t"), "saga", clock=clock)
    with caplog.at_level(logging.INFO):
        try:
            raise KeyError("bug")
        except KeyError as error:
            outage.failed(error, with_traceback=True)
    assert caplog.records[0].exc_info is not None


def test_the_reason_of_a_group_is_the_first_line_of_its_first_failure() -> None:
    lost = OSError("the connection is lost\n\tIs the server running on that host?")
    group = ExceptionGroup("tasks", [lost, ValueError("x")])
    assert reason(group) == "OSError: the connection is lost"
