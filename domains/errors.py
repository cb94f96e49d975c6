"""The root of every refusal a domain makes; `code` is stable and machine-readable."""

from __future__ import annotations


class DomainError(Exception):
    """A command a domain refuses; `field` names the input at fault, when one is."""

    code = "domain-error"

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field
