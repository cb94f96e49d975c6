"""The rule for every free text a domain stores (owners, references, ids, reasons).

Stored text must survive every store and reader downstream: PostgreSQL text refuses
NUL, UTF-8 has no encoding for a lone surrogate, and a control or invisible format
character in a name makes logs, terminals and read models lie. So a stored text holds
printable characters only: letters, marks, numbers, punctuation, symbols and spaces.

Refused, by Unicode category: Cc (controls: NUL, tab, newline, DEL, C1), Cs
(surrogates), Co (private use), Cn (unassigned, which includes noncharacters), Zl and
Zp (line and paragraph separators), and Cf (format: bidi overrides, zero-width space,
BOM, soft hyphen), except ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER, which Persian,
Indic scripts and emoji sequences need.
"""

from __future__ import annotations

import unicodedata

from domains.errors import DomainError

# A payment's reference, as the payments context stores it and each account step repeats it.
MAX_REFERENCE_LENGTH = 140
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Cf", "Zl", "Zp"})
ALLOWED_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})


def text_flaw(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    for index, char in enumerate(value):
        if char in ALLOWED_FORMAT_CHARACTERS:
            continue
        category = unicodedata.category(char)
        if category in REFUSED_CATEGORIES:
            return f"must not contain U+{ord(char):04X} ({category}) at position {index}"
    return None


def check_text(
    field: str,
    value: object,
    max_length: int,
    error: type[DomainError],
    *,
    required: bool = True,
) -> str:
    """`value` as stored text of at most `max_length` characters, or `error` naming `field`."""
    if not isinstance(value, str):
        raise error(f"{field} must be text", field=field)
    if required and not value.strip():
        raise error(f"{field} must be a non-empty string", field=field)
    if len(value) > max_length:
        raise error(f"{field} must be at most {max_length} characters", field=field)
    if flaw := text_flaw(value):
        raise error(f"{field} {flaw}", field=field)
    return value
