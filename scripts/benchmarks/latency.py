"""Latency samples and their summary: nearest-rank percentiles, the gateway's added
latency (gateway minus direct), and the lines that report them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

PERCENTILES = (50, 90, 99)


def percentile(samples: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest sample with `percent`% at or below it."""
    if not samples:
        raise ValueError("no samples")
    if not 0 < percent <= 100:
        raise ValueError(f"a percentile is in (0, 100], not {percent}")
    ordered = sorted(samples)
    return ordered[math.ceil(percent / 100 * len(ordered)) - 1]


@dataclass
class Path:
    """One way to the service (direct, gateway) for one kind of request: the latencies
    of its successful answers (ms) and the statuses of the others."""

    samples: list[float] = field(default_factory=list)
    failed: Counter[int] = field(default_factory=Counter)

    def record(self, status: int, milliseconds: float) -> None:
        if 200 <= status < 300:
            self.samples.append(milliseconds)
        else:
            self.failed[status] += 1

    def at(self, percent: float) -> float:
        return percentile(self.samples, percent)


@dataclass
class Comparison:
    """The same requests straight to a service and through the gateway."""

    kind: str
    direct: Path = field(default_factory=Path)
    gateway: Path = field(default_factory=Path)

    def added(self, percent: float) -> float:
        """What the gateway adds at `percent`: its percentile minus the direct one."""
        return self.gateway.at(percent) - self.direct.at(percent)


HEADER = f"{'':<22}{'count':>7}" + "".join(f"{f'p{p}':>9}" for p in PERCENTILES) + f"{'max':>9}"


def path_line(label: str, path: Path) -> str:
    """`label  count  p50 p90 p99 max` in ms, and the failed answers by status, if any."""
    if not path.samples:
        return f"{label:<22}{0:>7}  no successful answer{_failures(path)}"
    figures = "".join(f"{path.at(p):>9.2f}" for p in PERCENTILES)
    return f"{label:<22}{len(path.samples):>7}{figures}{max(path.samples):>9.2f}{_failures(path)}"


def _failures(path: Path) -> str:
    if not path.failed:
        return ""
    by_status = ", ".join(f"{count} x {status}" for status, count in sorted(path.failed.items()))
    return f"  (failed: {by_status})"


def comparison_lines(comparison: Comparison) -> list[str]:
    """Both paths of one kind of request, then what the gateway adds at p50 and p99."""
    lines = [
        path_line(f"{comparison.kind} direct", comparison.direct),
        path_line(f"{comparison.kind} gateway", comparison.gateway),
    ]
    if comparison.direct.samples and comparison.gateway.samples:
        p50, p99 = comparison.added(50), comparison.added(99)
        lines.append(f"  gateway adds: p50 {p50:+.2f} ms, p99 {p99:+.2f} ms")
    return lines
