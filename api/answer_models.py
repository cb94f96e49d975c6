"""A context's HTTP answer model, made from its command result (one description of the
answered fields: the result dataclass in domains/<context>/application.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import Any, get_type_hints

from pydantic import BaseModel, create_model

from domains.command_result import CommandResult


def answer_model(
    name: str, result: type[CommandResult], doc: str, *, leave_out: Collection[str] = ()
) -> type[BaseModel]:
    """The answer's model: the result's fields in their order, less the log `position`
    and `leave_out`, then the `consistency_token` that stands for the position."""
    hints = get_type_hints(result)
    answered: dict[str, Any] = {
        item.name: (hints[item.name], ...)
        for item in fields(result)
        if item.name not in {"position", *leave_out}
    }
    model: type[BaseModel] = create_model(
        name, __doc__=doc, **answered, consistency_token=(str, ...)
    )
    return model
