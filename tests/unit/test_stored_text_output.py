"""Text that PostgreSQL or orjson refuse (NUL, lone surrogates), met in old events, is
written out escaped, never a crash: in dead-letter errors and in audit JSON."""

from __future__ import annotations

import json

from projections.dead_letters import storable
from scripts.cli.audit_inspect import json_bytes, payload_text, shown


def test_a_dead_letter_error_keeps_nul_and_surrogates_as_escapes() -> None:
    stored = storable("bad owner 'Bob\x00' or '\ud800x'")
    assert stored == "bad owner 'Bob\\x00' or '\\ud800x'"
    stored.encode("utf-8")  # PostgreSQL text can hold it


def test_audit_json_writes_nul_and_lone_surrogates_as_json_escapes() -> None:
    event = {"owner": "Bob\x00", "reference": "\ud800x", "plain": "José"}
    for indent in (False, True):
        written = json_bytes(event, indent=indent)
        assert json.loads(written) == event
    assert json_bytes({"owner": "Bob\x00"}) == b'{"owner":"Bob\\u0000"}'


def test_audit_tables_show_what_is_not_printable_as_escapes() -> None:
    assert shown("Bob\x00") == "Bob\\x00"
    assert shown("\ud800x") == "\\ud800x"
    assert shown("José [bold]") == "José \\[bold]"  # markup escaped, text kept
    assert payload_text({"owner": "Bob\x00", "amount": 5}) == "owner=Bob\\x00\namount=5"
    payload_text({"owner": "\ud800x"}).encode("utf-8")  # prints on any UTF-8 terminal
