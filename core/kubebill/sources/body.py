"""Read one API answer and decode it with msgspec into typed structs (unknown fields skipped).

Each request covers one step window, so a body grows with the number of containers, not with the
length of the exported range; it is read into one buffer (no copy per chunk) and decoded in place.
Decoding errors become one-line `SourceError`s naming the source and what was wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from kubebill.errors import SourceError

T = TypeVar("T")


def read(chunks: Iterable[bytes], *, size_hint: int = 0) -> bytearray:
    """The whole body in one buffer, allocated once when the size is known (no copy while growing)."""
    buffer = bytearray(size_hint)
    view = memoryview(buffer)
    used = 0
    for chunk in chunks:
        end = used + len(chunk)
        if end <= size_hint:
            view[used:end] = chunk
        else:
            view.release()
            del buffer[used:]
            buffer += chunk
            size_hint = 0
            view = memoryview(buffer)
        used = end
    view.release()
    del buffer[used:]
    return buffer


def decode(data: bytes | bytearray | memoryview, type_: type[T], *, what: str) -> T:
    """`data` as `type_`; bare NaN/Infinity (not JSON, but some encoders write them) go through the stdlib."""
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        raise SourceError(f"{what}: unexpected answer: {exc}") from None
    except msgspec.DecodeError as exc:
        try:
            loose: Any = json.loads(bytes(data))
        except (ValueError, UnicodeDecodeError):
            if len(data) == 0:
                raise SourceError(f"{what}: empty body; expected JSON") from None
            if "truncated" in str(exc):
                raise SourceError(f"{what}: truncated JSON ({len(data)} bytes): {exc}") from None
            raise SourceError(f"{what}: not JSON ({exc}); starts with {bytes(data[:60])!r}") from None
        return decode(msgspec.json.encode(_finite(loose)), type_, what=what)


def _finite(value: Any) -> Any:
    """NaN and ±Infinity replaced by null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
