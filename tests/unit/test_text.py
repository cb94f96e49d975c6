"""The one rule for stored text: printable, valid Unicode, bounded; the error names the field."""

from __future__ import annotations

import pytest

from domains.errors import DomainError
from domains.text import check_text, text_flaw


class Refused(DomainError):
    code = "refused"


PRINTABLE = [
    "Bob",
    "José Ñúñez",
    "Zoë O'Brien-Smith",
    "李小龍",
    "محمد‌رضا",  # ZERO WIDTH NON-JOINER, needed in Persian
    "👩‍💻",  # ZERO WIDTH JOINER, needed in emoji sequences
    "a b",
]
FLAWED = {
    "nul": "Bob\x00",
    "tab": "a\tb",
    "newline": "a\nb",
    "carriage-return": "a\rb",
    "escape": "\x1b[31mred",
    "delete": "a\x7f",
    "c1-control": "a\x85b",
    "lone-high-surrogate": "\ud800x",
    "lone-low-surrogate": "x\udc00",
    "right-to-left-override": "evil\u202egnp.exe",
    "zero-width-space": "a\u200bb",
    "byte-order-mark": "\ufeffBob",
    "private-use": "a\ue000",
    "noncharacter": "a\uffff",
    "unassigned": "a\U000e0fff",
    "line-separator": "a\u2028b",
    "paragraph-separator": "a\u2029b",
}


@pytest.mark.parametrize("value", PRINTABLE)
def test_printable_text_is_accepted(value: str) -> None:
    assert text_flaw(value) is None
    assert check_text("owner", value, 200, Refused) == value


@pytest.mark.parametrize("value", FLAWED.values(), ids=FLAWED.keys())
def test_a_control_format_or_invalid_character_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(Refused) as refused:
        check_text("owner", value, 200, Refused)
    assert refused.value.field == "owner"
    assert str(refused.value).startswith("owner must not contain U+")


def test_the_flaw_names_the_character_and_where_it_is() -> None:
    assert text_flaw("Bob\x00") == "must not contain U+0000 (Cc) at position 3"


@pytest.mark.parametrize("value", [None, 42, b"Bob", ["Bob"]])
def test_anything_but_text_is_refused(value: object) -> None:
    with pytest.raises(Refused, match="owner must be text"):
        check_text("owner", value, 200, Refused)


def test_length_is_counted_in_characters() -> None:
    assert check_text("owner", "é" * 200, 200, Refused) == "é" * 200
    with pytest.raises(Refused, match="at most 200 characters"):
        check_text("owner", "é" * 201, 200, Refused)


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_text_is_refused_when_required_and_kept_when_optional(value: str) -> None:
    with pytest.raises(Refused, match="non-empty"):
        check_text("owner", value, 200, Refused)
    assert check_text("reference", value, 140, Refused, required=False) == value
