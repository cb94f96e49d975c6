"""What a command's arguments name: a context or a read model, or one line saying which
names there are."""

from __future__ import annotations

from eventstore.contexts import CONTEXTS, Context
from projections.projection import Projection
from projections.registry import get_projection
from scripts.cli.errors import CliError


def context_named(name: str) -> Context:
    if name not in CONTEXTS:
        raise CliError(f"unknown context {name!r}; known: {', '.join(CONTEXTS)}")
    return CONTEXTS[name]


def contexts_named(name: str | None) -> list[Context]:
    """The context called `name`, or every context when no name is given."""
    return [context_named(name)] if name is not None else list(CONTEXTS.values())


def projection_named(name: str) -> type[Projection]:
    try:
        return get_projection(name)
    except KeyError as error:
        raise CliError(error.args[0]) from None
