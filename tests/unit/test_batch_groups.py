"""How a fetched batch is split before its groups are handled: an empty fetch (nats-py
can end one with no message and no timeout error) is no group at all, never a handler
call with nothing to apply (the projectors crashed on that, idle, under `paystream up`)."""

from __future__ import annotations

from typing import Any, cast

from nats.aio.msg import Msg

from eventstore.pull_consumer import grouped


def message(subject: str) -> Msg:
    return cast(Any, Msg)(_client=None, subject=subject, data=b"")  # type: ignore[no-any-return]


def test_an_empty_batch_is_no_group() -> None:
    assert grouped([], None) == []
    assert grouped([], lambda m: m.subject) == []


def test_a_batch_is_one_group_or_one_per_key_in_fetch_order() -> None:
    a1, b1, a2 = message("a"), message("b"), message("a")
    assert grouped([a1, b1, a2], None) == [[a1, b1, a2]]
    assert grouped([a1, b1, a2], lambda m: m.subject) == [[a1, a2], [b1]]
