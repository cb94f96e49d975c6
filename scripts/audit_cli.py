"""`paystream audit ...`: the audit trail, verifiable and inspectable.

The commands live in scripts/audit_verify.py (verify, checkpoint) and
scripts/audit_inspect.py (history, state, trace, export); importing them here
registers them on `audit_app`.
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(
    no_args_is_help=True,
    help="Audit trail: verify, checkpoint, history, state, trace, export.",
)

from scripts import audit_inspect, audit_verify  # noqa: E402, F401  (registers the commands)
