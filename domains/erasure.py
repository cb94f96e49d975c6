"""Erasure of a person's data (crypto-shredding): what an aggregate records when the data
key of the person whose data its events hold is destroyed, and the marker that data
shows from then on. The record says who erased, when (the event's timestamp) and why,
and which key went, never what the data was."""

from __future__ import annotations

from typing import Final

from domains.errors import Rejected
from domains.text import check_text

ERASED_TEXT: Final = "[erased]"
MAX_ERASURE_REASON_LENGTH = 500


class InvalidErasure(Rejected):
    code = "invalid-erasure"


def check_erasure_reason(reason: object) -> str:
    """Why the data was erased: a non-blank, printable text (a request's reference, say)."""
    return check_text("reason", reason, MAX_ERASURE_REASON_LENGTH, InvalidErasure)
