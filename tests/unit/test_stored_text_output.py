"""Text that PostgreSQL or orjson refuse (NUL, lone surrogates), met in old events, is
written out escaped, never a crash: in dead-letter errors and in audit JSON."""

from __future__ import annotations

import json

from projections.dead_letters import storable
from scripts.audit_inspect import json_bytes


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
