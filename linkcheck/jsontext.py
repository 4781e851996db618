"""Compact JSON text, exactly as `json.JSONEncoder(ensure_ascii=False).encode` writes it, for the many
small objects of a run (a report's result lines, history's citations). `encode` makes a new C encoder
on every call, which costs more than encoding a small object: here one is made once and reused. It
keeps no state between calls (no circular-reference marks: the values, built from the run's
dataclasses, hold no cycles), so threads may share it."""
from __future__ import annotations

import json
from json import encoder as _json_encoder
from typing import Any

__all__ = ["encode"]

_PLAIN = json.JSONEncoder(ensure_ascii=False, check_circular=False)
_MAKE = getattr(_json_encoder, "c_make_encoder", None)  # None where the C accelerator is missing
_C = None if _MAKE is None else _MAKE(
    None, _PLAIN.default, _json_encoder.encode_basestring, None, _PLAIN.key_separator,
    _PLAIN.item_separator, _PLAIN.sort_keys, _PLAIN.skipkeys, _PLAIN.allow_nan)


def encode(value: Any) -> str:
    """`json.JSONEncoder(ensure_ascii=False).encode(value)`, the same text, for a value without cycles."""
    if _C is None or isinstance(value, str):
        return _PLAIN.encode(value)
    return "".join(_C(value, 0))
