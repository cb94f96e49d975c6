"""The orjson transcoder against the eventsourcing library's own transcoder test case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Transcoder, Transcoding, UUIDAsHex
from eventsourcing.tests import persistence as lib

from eventstore.transcoder import OrjsonTranscoder, default_transcoder


class MydictAsDict(Transcoding):
    type = lib.Mydict
    name = "mydict"

    def encode(self, obj: lib.Mydict[Any, Any]) -> dict[Any, Any]:
        return dict(obj)

    def decode(self, data: dict[Any, Any]) -> lib.Mydict[Any, Any]:
        return lib.Mydict(data)


class MyListAsList(Transcoding):
    type = lib.MyList
    name = "mylist"

    def encode(self, obj: lib.MyList[Any]) -> list[Any]:
        return list(obj)

    def decode(self, data: list[Any]) -> lib.MyList[Any]:
        return lib.MyList(data)


class MyStrAsStr(Transcoding):
    type = lib.MyStr
    name = "mystr"

    def encode(self, obj: lib.MyStr) -> str:
        return str(obj)

    def decode(self, data: str) -> lib.MyStr:
        return lib.MyStr(data)


class MyIntAsInt(Transcoding):
    type = lib.MyInt
    name = "myint"

    def encode(self, obj: lib.MyInt) -> int:
        return int(obj)

    def decode(self, data: int) -> lib.MyInt:
        return lib.MyInt(data)


class TestOrjsonTranscoder(lib.TranscoderTestCase):
    """Runs every test of the library's TranscoderTestCase on OrjsonTranscoder."""

    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()
        for transcoding in (
            UUIDAsHex(),
            lib.CustomType1AsDict(),
            lib.CustomType2AsDict(),
            MydictAsDict(),
            MyListAsList(),
            MyStrAsStr(),
            MyIntAsInt(),
        ):
            transcoder.register(transcoding)
        return transcoder


def test_given_event_state_when_round_tripped_then_uuid_datetime_and_int_survive() -> None:
    transcoder = default_transcoder()
    state = {
        "originator_id": uuid4(),
        "originator_version": 3,
        "timestamp": datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC),
        "amount": 10**14,
    }

    copy = transcoder.decode(transcoder.encode(state))

    assert copy == state
    assert copy["timestamp"].tzinfo == UTC


def test_stored_text_the_api_now_refuses_still_decodes() -> None:
    """Events stored before the API refused such text: NUL and lone-surrogate escapes."""
    stored = b'{"owner":"Bob\\u0000","reference":"\\ud800x"}'
    assert default_transcoder().decode(stored) == {"owner": "Bob\x00", "reference": "\ud800x"}
