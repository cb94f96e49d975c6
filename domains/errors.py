"""The root of every refusal a domain makes; `code` is stable and machine-readable."""


class DomainError(Exception):
    """A command a domain refuses."""

    code = "domain-error"
