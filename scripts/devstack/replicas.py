"""`paystream up --replicas accounts-api=2`: more processes of a stateless API behind the
gateway. The first replica keeps the service's own port (the URL other services and the
README use); the others take consecutive free ports from FIRST_REPLICA_PORT up."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping

from scripts.devstack.services import SERVICES

MAX_REPLICAS = 8
FIRST_REPLICA_PORT = 8201  # above every default port of the service list
REPLICATED_KINDS = ("command-api", "query-api")


class InvalidReplicas(ValueError):
    """A --replicas value that names no stateless API or asks for a count out of range."""


def parse_replicas(values: Iterable[str]) -> dict[str, int]:
    """`["accounts-api=2", ...]` as `{"accounts-api": 2}`; refused with the reason."""
    apis = [spec.name for spec in SERVICES if spec.kind in REPLICATED_KINDS]
    counts: dict[str, int] = {}
    for value in values:
        name, equals, count = value.partition("=")
        if not equals or not count.strip().isdigit():
            raise InvalidReplicas(f"--replicas {value!r}: expected SERVICE=N, e.g. accounts-api=2")
        if name not in apis:
            raise InvalidReplicas(
                f"--replicas {value!r}: {name!r} is not a command or query API"
                f" (replicated: {', '.join(apis)})"
            )
        if name in counts:
            raise InvalidReplicas(f"--replicas {value!r}: {name} is given twice")
        if not 1 <= int(count) <= MAX_REPLICAS:
            raise InvalidReplicas(f"--replicas {value!r}: the count must be 1 to {MAX_REPLICAS}")
        counts[name] = int(count)
    return counts


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` right now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def replica_ports(
    counts: Mapping[str, int],
    reserved: Iterable[int] = (),
    is_free: Callable[[int], bool] = port_is_free,
) -> dict[str, list[int]]:
    """Every service's ports: its own, then one per further replica, from the next free
    port at or above FIRST_REPLICA_PORT that is no service's default nor `reserved`."""
    taken = {spec.port for spec in SERVICES} | set(reserved)
    candidate = FIRST_REPLICA_PORT
    ports: dict[str, list[int]] = {}
    for spec in SERVICES:
        ports[spec.name] = [spec.port]
        for _ in range(counts.get(spec.name, 1) - 1):
            while candidate in taken or not is_free(candidate):
                candidate += 1
            ports[spec.name].append(candidate)
            taken.add(candidate)
    return ports
