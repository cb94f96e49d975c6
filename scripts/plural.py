"""Counts in words: `1 event`, `2 events`, `1,000 events`."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, pluralised (with `s`, or `plural` when given) unless 1."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
