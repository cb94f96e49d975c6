"""Every refusal a domain makes: `code` is stable and machine-readable, and its kind
(Rejected, Conflict, NotFound or Forbidden, by type) says why, which the API boundary
answers as 422, 409, 404 or 403 without knowing any code."""

from __future__ import annotations


class DomainError(Exception):
    """A command a domain refuses; `field` names the input at fault, when one is."""

    code = "domain-error"

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class Rejected(DomainError):
    """The request itself is wrong, whatever the state (a bad amount, a blank owner)."""


class Conflict(DomainError):
    """The request is fine, but the aggregate's current state refuses it (frozen, empty)."""


class NotFound(DomainError):
    """The aggregate the request names does not exist."""


class Forbidden(DomainError):
    """The caller may see the aggregate but not do this to it (a role's limit)."""
