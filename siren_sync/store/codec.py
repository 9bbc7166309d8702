"""The one serialization of what the store keeps: compact, strict JSON (no NaN), UTF-8.

Documents and event records are plain JSON; `dumps` is both how they are written and the proof that
they are (a `Decimal` or a `datetime` fails here, before anything is written).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The C encoder behind `_ENCODER`, made once: `JSONEncoder.encode` builds a new one at every call,
# a third of the cost of encoding one event record. Store documents are trees built from JSON
# (never cyclic), so it runs without the cycle check.
_C_ENCODE = json.encoder.c_make_encoder and json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)


def dumps(data: Any) -> bytes:
    """Compact, strict JSON (no NaN), UTF-8: the one serialization of every store file."""
    return dumps_text(data).encode()


def dumps_text(data: Any) -> str:
    """`dumps` as text (what a database's text column takes)."""
    if _C_ENCODE is None:  # a Python built without the _json accelerator
        return _ENCODER.encode(data)
    return "".join(_C_ENCODE(data, 0))


def copy_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document (and the proof that it is plain JSON)."""
    copy: dict[str, Any] = json.loads(dumps(doc))
    return copy
