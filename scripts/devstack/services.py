"""Every service of the system: its name, its `paystream serve` arguments, its port.

`paystream up`, the test fixtures and compose.yaml all start services from this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the system."""

    name: str
    serve_args: tuple[str, ...]
    port: int
    # "command-api", "query-api", "composition-api" (reads other APIs; no database of its
    # own), "worker" or "issuer"
    kind: str

    def command(self, port: int | None = None) -> list[str]:
        """The `paystream` arguments that run this service."""
        return ["serve", *self.serve_args, "--port", str(port or self.port)]


# The projections of the accounts source: one process each (a handler's crash or CPU
# stays its own) or one group process (one consumer per source, one transaction per
# batch). SERVICES runs the layout GROUP_ACCOUNT_PROJECTORS says (docs/architecture.md,
# "Projector groups", has the numbers that chose it).
ACCOUNT_PROJECTIONS = ("account_summary", "account_statement", "analytics", "notifications")
SINGLE_ACCOUNT_PROJECTORS: tuple[ServiceSpec, ...] = (
    ServiceSpec("projector-account-summary", ("projector", "account_summary"), 8102, "worker"),
    ServiceSpec("projector-account-statement", ("projector", "account_statement"), 8103, "worker"),
    ServiceSpec("projector-notifications", ("projector", "notifications"), 8105, "worker"),
    ServiceSpec("projector-analytics", ("projector", "analytics"), 8106, "worker"),
)
GROUPED_ACCOUNT_PROJECTORS: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "projector-accounts-group", ("projector", ",".join(ACCOUNT_PROJECTIONS)), 8102, "worker"
    ),
)
GROUP_ACCOUNT_PROJECTORS = True
ACCOUNT_PROJECTORS = (
    GROUPED_ACCOUNT_PROJECTORS if GROUP_ACCOUNT_PROJECTORS else SINGLE_ACCOUNT_PROJECTORS
)

SERVICES: tuple[ServiceSpec, ...] = (
    # The development identity provider (compose.yaml runs Keycloak in its place).
    ServiceSpec("issuer", ("issuer",), 8090, "issuer"),
    ServiceSpec("accounts-api", ("accounts-api",), 8001, "command-api"),
    ServiceSpec("account-summary-query-api", ("query-api", "account-summary"), 8002, "query-api"),
    ServiceSpec("payments-api", ("payments-api",), 8011, "command-api"),
    ServiceSpec("relay-accounts", ("relay", "accounts"), 8101, "worker"),
    ServiceSpec("relay-payments", ("relay", "payments"), 8111, "worker"),
    ServiceSpec("saga", ("saga",), 8112, "worker"),
    *ACCOUNT_PROJECTORS,
    ServiceSpec("projector-payments", ("projector", "payments"), 8104, "worker"),
    ServiceSpec(
        "account-statement-query-api", ("query-api", "account-statement"), 8003, "query-api"
    ),
    ServiceSpec("payments-query-api", ("query-api", "payments"), 8004, "query-api"),
    ServiceSpec("notifications-query-api", ("query-api", "notifications"), 8005, "query-api"),
    ServiceSpec("analytics-query-api", ("query-api", "analytics"), 8006, "query-api"),
    ServiceSpec("overview-api", ("overview-api",), 8007, "composition-api"),
)

ALL_SPECS: dict[str, ServiceSpec] = {
    spec.name: spec for spec in (*SERVICES, *SINGLE_ACCOUNT_PROJECTORS, *GROUPED_ACCOUNT_PROJECTORS)
}

# Not a service of the system: `paystream up --bench` (and the tests) alone start it, the
# baseline of `bench suite`'s query GET figure, routed as GET /bench/hello.
BENCH_HELLO = ServiceSpec("bench-hello", ("bench-hello",), 8008, "bench-api")


# The operators' console: it reads the other services and owns nothing. Kept out of
# SERVICES (what the tests' stacks start and `paystream status` lists by default):
# `paystream up` starts it beside them, compose.yaml runs it as one of COMPOSE_SERVICES.
CONSOLE = ServiceSpec("console", ("console",), 8009, "console")

# What compose.yaml runs of these: every service but the development issuer (Keycloak
# takes its place), and the console.
COMPOSE_SERVICES: tuple[ServiceSpec, ...] = (
    *(spec for spec in SERVICES if spec.kind != "issuer"),
    CONSOLE,
)


# The services that verify tokens or get their own, and so need the issuer running.
def needs_issuer(spec: ServiceSpec) -> bool:
    return spec.kind.endswith("-api") or spec.name in ("saga", "console")


def service_name(service: str, target: str | None = None) -> str:
    """The name, as in SERVICES, of what `paystream serve <service> [target]` runs (the
    `service` field of its log lines)."""
    args = (service,) if target is None else (service, target)
    return next(
        (spec.name for spec in ALL_SPECS.values() if spec.serve_args == args), "-".join(args)
    )
