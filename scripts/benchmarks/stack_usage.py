"""CPU time and memory of the processes of a running `paystream up`, from /proc (Linux).

A process belongs to the stack when its command line or its environment names the
stack's data directory (the services get `PAYSTREAM_LOG_FILE` under it; PostgreSQL, NATS
and Envoy their data or configuration under it), and so does every descendant of one
(PostgreSQL's backends). Each is named for what it runs: `postgres`, `nats-server`,
`envoy`, or the service it serves. CPU time is user + system, plus that of children
already reaped (PostgreSQL's backends of closed connections), in seconds; memory is the
resident set (VmRSS), in bytes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    pid: int
    parent: int
    name: str
    seconds: float  # own user + system, and that of its reaped children
    resident_bytes: int = 0


def _processes() -> Iterator[tuple[int, int, float, bytes, bytes]]:
    """(pid, parent pid, CPU seconds, command line, environment) of every process this
    user may read."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parent = int(fields[1])
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        yield int(entry.name), parent, ticks / TICKS_PER_SECOND, cmdline, environ


def name_of(cmdline: bytes) -> str | None:
    """What a stack process runs: the service it serves, or the server's program; None
    for anything else (`paystream up` itself, a shell, a bench)."""
    words = [word.decode(errors="replace") for word in cmdline.split(b"\0") if word]
    if "scripts.cli.serve" in words:
        arguments = words[words.index("scripts.cli.serve") + 1 :]
        return " ".join(word for word in arguments[:2] if not word.startswith("-"))
    program = Path(words[0].split()[0]).name if words else ""
    for server in ("postgres", "nats-server", "envoy"):
        if program.startswith(server):
            return server
    return None


def _names_dir(pid: int, text: bytes, data_dir: Path) -> bool:
    """Whether `text` (a command line or an environment) names `data_dir`: by its full
    path, or by the path as given when that is relative to the process's directory."""
    absolute = data_dir.resolve()
    if str(absolute).encode() in text:
        return True
    if data_dir.is_absolute() or str(data_dir).encode() not in text:
        return False
    try:
        return (Path(os.readlink(PROC / str(pid) / "cwd")) / data_dir).resolve() == absolute
    except OSError:
        return False


def stack_processes(data_dir: Path) -> list[ProcessCpu]:
    """Every process of the stack whose data directory is `data_dir`, with its CPU."""
    table = list(_processes())
    children: defaultdict[int, list[int]] = defaultdict(list)
    for pid, parent, *_ in table:
        children[parent].append(pid)
    by_pid = {row[0]: row for row in table}
    named = {
        pid: name
        for pid, _, _, cmdline, environ in table
        if (_names_dir(pid, cmdline, data_dir) or _names_dir(pid, environ, data_dir))
        and (name := name_of(cmdline)) is not None
    }
    found = dict(named)  # each root by what it runs, each descendant by its root's
    for root in named:
        pending = list(children.get(root, []))
        while pending:
            pid = pending.pop()
            if pid not in named:
                found[pid] = found[by_pid[pid][1]]
                pending.extend(children.get(pid, []))
    return [
        ProcessCpu(pid, by_pid[pid][1], found[pid], by_pid[pid][2], _resident(pid))
        for pid in sorted(found)
        if pid != os.getpid()
    ]


def _resident(pid: int) -> int:
    """The process's resident set in bytes (0 once it is gone)."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # kB
    return 0


def resident_by_name(data_dir: Path) -> dict[str, int]:
    """Each service's and server's resident memory now, its processes summed."""
    totals: defaultdict[str, int] = defaultdict(int)
    for process in stack_processes(data_dir):
        totals[process.name] += process.resident_bytes
    return dict(totals)


@dataclass(frozen=True)
class CpuSample:
    """The CPU seconds of each stack process at one moment, by pid (and what it runs)."""

    seconds: dict[int, tuple[str, float]]

    @classmethod
    def take(cls, data_dir: Path) -> CpuSample:
        return cls({p.pid: (p.name, p.seconds) for p in stack_processes(data_dir)})

    def by_name(self) -> dict[str, float]:
        totals: defaultdict[str, float] = defaultdict(float)
        for name, seconds in self.seconds.values():
            totals[name] += seconds
        return dict(totals)

    def since(self, earlier: CpuSample) -> dict[str, float]:
        """CPU seconds spent between `earlier` and this sample, by what the processes run.
        By totals, not per process: a PostgreSQL backend that ended meanwhile has its
        time in the postmaster's (it reaped it), and one born meanwhile counts from zero."""
        now, before = self.by_name(), earlier.by_name()
        return {name: max(0.0, seconds - before.get(name, 0.0)) for name, seconds in now.items()}
