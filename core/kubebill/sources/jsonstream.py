"""Walk a JSON document arriving in chunks without holding it whole.

The caller navigates containers (`begin_object`, `next_key`, `begin_array`, `next_item`) and decodes
the values it wants one at a time with the C decoder (`value`), so memory is one value plus one chunk,
whatever the size of the body. Bare NaN/Infinity are accepted (Python's decoder does).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import Any

from kubebill.errors import SourceError

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"
_MAX_VALUE_CHARS = 64 << 20  # one value (an allocation) larger than this is not an allocation API answer


class JsonStream:
    """A cursor over a chunked JSON text; `what` names the source in error messages."""

    def __init__(self, chunks: Iterable[bytes], *, what: str) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._consumed = 0  # characters dropped from the front of the buffer
        self.what = what

    # --- buffer ---
    def _more(self) -> bool:
        if self._eof:
            return False
        if self._pos > (1 << 20):
            self._consumed += self._pos
            self._buf = self._buf[self._pos :]
            self._pos = 0
        for chunk in self._chunks:
            try:
                text = self._utf8.decode(chunk)
            except UnicodeDecodeError as exc:
                raise self.error(f"not UTF-8 text ({exc.reason})") from None
            if text:
                self._buf += text
                return True
        self._eof = True
        return False

    def error(self, message: str) -> SourceError:
        return SourceError(f"{self.what}: {message} at character {self._consumed + self._pos}")

    def _peek(self) -> str:
        """The next non-space character ('' at the end of the text)."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found!r}" if found else f"truncated JSON, expected {char!r}")
        self._pos += 1

    # --- navigation ---
    def peek_kind(self) -> str:
        """'{', '[', '"', 'n' (null), or another first character of the next value."""
        return self._peek()

    def begin_object(self) -> None:
        self._expect("{")

    def next_key(self) -> str | None:
        """The next key of the current object (the cursor then sits on its value), or None at its end."""
        char = self._peek()
        if char == "}":
            self._pos += 1
            return None
        if char == ",":
            self._pos += 1
            char = self._peek()
        if char != '"':
            raise self.error(f"expected a key or '}}', found {char!r}" if char else "truncated JSON inside an object")
        key = self.value()
        if not isinstance(key, str):  # pragma: no cover - a '"' always decodes to a string
            raise self.error("expected a string key")
        self._expect(":")
        return key

    def begin_array(self) -> None:
        self._expect("[")

    def next_item(self) -> bool:
        """True if the current array has another item (the cursor then sits on it), False at its end."""
        char = self._peek()
        if char == "]":
            self._pos += 1
            return False
        if char == ",":
            self._pos += 1
            char = self._peek()
        if not char:
            raise self.error("truncated JSON inside an array")
        return True

    def value(self) -> Any:
        """Decode the whole value at the cursor."""
        self._peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buf) - self._pos < _MAX_VALUE_CHARS and self._more():
                    continue
                if self._eof:
                    raise self.error(f"truncated or invalid JSON ({exc.msg})") from None
                raise self.error(f"invalid JSON ({exc.msg})") from None
            if end >= len(self._buf) and self._more():
                continue  # a number may go on in the next chunk
            self._pos = end
            return value

    def end(self) -> None:
        """Only whitespace may follow the document."""
        char = self._peek()
        if char:
            raise self.error(f"unexpected {char!r} after the JSON document")
