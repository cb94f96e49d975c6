"""free_port never hands out one port twice, and keeps to PAYSTREAM_PORT_RANGE when set
(parallel test workers get disjoint ranges, so they never race for one port)."""

from __future__ import annotations

import pytest

from scripts.devstack.embedded import free_port


def test_ports_come_from_the_range_once_each_until_it_is_used_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYSTREAM_PORT_RANGE", "29900-29902")
    ports = [free_port() for _ in range(3)]
    assert sorted(ports) == [29900, 29901, 29902]
    with pytest.raises(RuntimeError, match="no free port left"):
        free_port()


def test_without_a_range_the_kernel_chooses_and_never_the_same_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAYSTREAM_PORT_RANGE", raising=False)
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
