"""The amounts every money request refuses (a deposit, a withdrawal, a payment): not a
whole positive number of minor units within bounds. Each refusal table turns these
into its own cases."""

from __future__ import annotations

from typing import Any

from domains.money import MAX_AMOUNT

INVALID = "422 validation-error"

# (case id, amount, "<status> <problem code>", words the detail must contain)
AMOUNT_REFUSALS: list[tuple[str, Any, str, str]] = [
    ("zero", 0, "422 invalid-amount", "greater than zero"),
    ("negative", -5, "422 invalid-amount", "greater than zero"),
    ("fraction", 1.5, INVALID, "amount"),
    ("float", 10.0, INVALID, "amount"),
    ("string", "5", INVALID, "amount"),
    ("bool", True, INVALID, "amount"),
    ("null", None, INVALID, "amount"),
    ("max-plus-one", MAX_AMOUNT + 1, "422 invalid-amount", "must not exceed"),
    ("1e30", 10**30, "422 invalid-amount", "must not exceed"),
]
