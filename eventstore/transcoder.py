"""A fast JSON transcoder on orjson, wire-compatible with the library's JSONTranscoder."""

from __future__ import annotations

import json
from typing import Any

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

TYPE_KEY = "_type_"
DATA_KEY = "_data_"

# Exact types orjson writes as they are; their subclasses need a registered transcoding.
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_NESTED: frozenset[type] = frozenset({dict, list})


class TupleAsList(Transcoding):
    """Keeps tuples distinct from lists across a round trip."""

    type = tuple
    name = "tuple_as_list"

    def encode(self, obj: tuple[Any, ...]) -> list[Any]:
        return list(obj)

    def decode(self, data: list[Any]) -> tuple[Any, ...]:
        return tuple(data)


class OrjsonTranscoder(Transcoder):
    """Encodes registered types as `{"_type_": name, "_data_": ...}` envelopes, then orjson."""

    def __init__(self) -> None:
        self.types: dict[type, Transcoding] = {}
        self.names: dict[str, Transcoding] = {}
        self.register(TupleAsList())

    def register(self, transcoding: Transcoding) -> None:
        """Makes `transcoding` handle its exact type on encode and its name on decode."""
        self.types[transcoding.type] = transcoding
        self.names[transcoding.name] = transcoding

    def encode(self, obj: Any) -> bytes:
        """Encodes `obj` as compact UTF-8 JSON."""
        return orjson.dumps(self._to_json(obj))

    def decode(self, data: bytes) -> Any:
        """Decodes JSON written by `encode` (or by the library's JSONTranscoder, which
        also writes lone surrogates as `\\ud800` escapes; orjson refuses those, json
        reads them)."""
        return self._from_json(parse_json(data))

    def _to_json(self, obj: Any) -> Any:
        cls = type(obj)
        if cls in _PLAIN:
            return obj
        if cls is dict:
            return {k: v if type(v) in _PLAIN else self._to_json(v) for k, v in obj.items()}
        if cls is list:
            return [v if type(v) in _PLAIN else self._to_json(v) for v in obj]
        transcoding = self.types.get(cls)
        if transcoding is None:
            raise TranscodingNotRegisteredError(
                f"Object of type {cls} is not serializable. Please define "
                "and register a custom transcoding for this type."
            )
        return {TYPE_KEY: transcoding.name, DATA_KEY: self._to_json(transcoding.encode(obj))}

    def _from_json(self, obj: Any) -> Any:
        cls = type(obj)
        if cls is dict:
            if len(obj) == 2 and TYPE_KEY in obj and DATA_KEY in obj:
                return self._unwrap(obj[TYPE_KEY], self._from_json(obj[DATA_KEY]))
            return {k: self._from_json(v) if type(v) in _NESTED else v for k, v in obj.items()}
        if cls is list:
            return [self._from_json(v) if type(v) in _NESTED else v for v in obj]
        return obj

    def _unwrap(self, name: Any, data: Any) -> Any:
        transcoding = self.names.get(name) if type(name) is str else None
        if transcoding is None:
            raise TranscodingNotRegisteredError(
                f"Data serialized with name '{name}' is not deserializable. "
                "Please register a custom transcoding for this type."
            )
        return transcoding.decode(data)


def parse_json(data: bytes) -> Any:
    """JSON from stored bytes: orjson, or the stdlib for what orjson refuses but JSON
    allows (a lone surrogate escape, `\\ud800`, in events stored before the API refused
    such text), so such an event can still be read, relayed, skipped and exported."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def default_transcoder() -> OrjsonTranscoder:
    """The transcoder our applications use: UUIDs, decimals and datetimes registered."""
    transcoder = OrjsonTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    return transcoder
