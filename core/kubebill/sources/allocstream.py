"""Cut an allocation API answer into runs of whole allocations while it streams in.

OpenCost and Kubecost write every allocation as `"<name>":{"name":"<name>",…}` (the map key repeats as
the first field). Inside a JSON string a quote is always escaped, so an unescaped `{"name":"K"` preceded
by the key `"K":` can only be the start of an allocation: the body is cut at the last such start of each
network chunk, and each run of allocations before it is then decoded in one call (msgspec, typed).
Memory is one network chunk plus the allocations not yet decoded, whatever the size of the answer.
An answer in another shape (an error, no allocations, a future layout) is kept whole and
`body` returns it for the caller's full decode; it is small or rare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from kubebill.errors import SourceError

_NAME_VALUE = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HEAD = re.compile(rb'^\s*\{.*"data"\s*:\s*\[(?:\s*(?:\{\s*\}|null)\s*,)*\s*\{\s*$', re.DOTALL)
_CODE = re.compile(rb'"code"\s*:\s*(-?\d+)')
_WS = b" \t\r\n"
_SET_BOUNDARY = b"{,} \n\r\t"


class AllocationStream:
    """Iterate runs of whole allocations, `{"K1":{…},"K2":{…}}`, one per network chunk or so.

    A run decodes as one JSON object (a map), unless it spans the boundary between two sets (several
    step windows in one answer): `split` cuts any run per allocation.
    Afterwards `code` is the answer's code (None if absent).
    """

    def __init__(self, chunks: Iterable[bytes], *, what: str) -> None:
        self._chunks = chunks
        self.what = what
        self.code: int | None = None
        self.found = False
        self.body = bytearray()  # the whole answer, only when no allocation was found in it

    def __iter__(self) -> Iterator[bytes]:
        buf = bytearray()
        started = False  # buf begins at the key of the first allocation not yet yielded
        for chunk in self._chunks:
            scan = max(0, len(buf) - 4096)  # a start may straddle two chunks
            buf += chunk
            if not started:
                key_start = self._first_start(buf, scan)
                if key_start is None:
                    continue
                self._head(bytes(buf[:key_start]))
                del buf[:key_start]
                started = True
            cut = self._last_start(buf)
            if cut:
                with memoryview(buf) as view:
                    run = b"".join((b"{", view[: _end(buf, cut)], b"}"))  # the one copy of these bytes
                yield run
                del run, buf[:cut]
        if not started:
            self.body = buf
            return
        yield b"{" + self._last(bytes(buf)) + b"}"

    def _first_start(self, buf: bytearray, scan: int) -> int | None:
        for brace, raw_name in _starts(buf, scan):
            key_start = self._key_start(buf, brace, raw_name)
            if key_start is not None:
                return key_start
        return None

    def _last_start(self, buf: bytearray) -> int:
        """Where the key of the last allocation that starts in `buf` begins (0: only the first one does)."""
        position = buf.rfind(b'"name"')
        while position > 0:
            start = _start_at(buf, position)
            if start is not None:
                key_start = self._key_start(buf, *start)
                if key_start is not None:
                    return key_start
            position = buf.rfind(b'"name"', 0, position)
        return 0

    def _key_start(self, buf: bytearray | bytes, brace: int, raw_name: bytes) -> int | None:
        """Where `"K":` begins right before this `{"name":"K"`, or None when it is not an allocation."""
        key = b'"' + raw_name + b'"'
        first = max(0, brace - len(key) - 64)
        before = bytes(buf[first:brace]).rstrip(_WS)
        if not before.endswith(b":"):
            return None
        before = before[:-1].rstrip(_WS)
        if not before.endswith(key):
            return None
        self.found = True
        return first + len(before) - len(key)

    def split(self, run: bytes) -> list[tuple[str, bytes]]:
        """`(name, allocation JSON)` of each allocation of a run."""
        run = run[1:-1]
        cuts = []
        for brace, raw_name in _starts(run, 0):
            key_start = self._key_start(run, brace, raw_name)
            if key_start is not None:
                cuts.append((key_start, brace, _text(raw_name)))
        ends = [key_start for key_start, _, _ in cuts[1:]] + [len(run)]
        return [(name, _trim(run[brace:end])) for (_, brace, name), end in zip(cuts, ends, strict=True)]

    def _head(self, head: bytes) -> None:
        if not _HEAD.match(head):
            raise SourceError(f'{self.what}: expected an answer starting {{…"data":[{{, found {head[:80]!r}')
        code = _CODE.search(head)
        if code:
            self.code = int(code.group(1))
        if self.code is not None and self.code != 200:
            raise SourceError(f"{self.what}: expected code 200, got {self.code}")

    def _last(self, rest: bytes) -> bytes:
        """The run of the last allocation; what follows it must close the set, the list and the answer."""
        text = rest.decode("utf-8", "replace")
        decoder = json.JSONDecoder()
        try:
            _, colon = decoder.raw_decode(text)  # the key, which the stream checked is followed by ":"
            value = text.index(":", colon) + 1
            value += len(text[value:]) - len(text[value:].lstrip())
            _, end = decoder.raw_decode(text, value)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{self.what}: truncated or invalid JSON in the last allocation ({exc.msg})") from None
        tail = text[end:].strip()
        if tail.startswith(","):
            raise SourceError(f"{self.what}: an entry that is not an allocation follows the last one: {tail[:60]!r}")
        if not tail.startswith("}"):
            raise SourceError(f"{self.what}: truncated JSON after the last allocation")
        tail = tail[1:].strip()
        while tail.startswith(","):  # further (empty) sets
            tail = tail[1:].strip()
            if not tail.startswith("{}"):
                raise SourceError(f"{self.what}: unexpected text after the last allocation: {tail[:60]!r}")
            tail = tail[2:].strip()
        if not tail.startswith("]"):
            raise SourceError(f"{self.what}: truncated JSON after the last allocation")
        fields = tail[1:].strip()
        try:
            trailer: Any = json.loads("{" + fields.lstrip(",")) if fields != "}" else {}
        except json.JSONDecodeError:
            raise SourceError(f"{self.what}: truncated JSON at the end of the answer") from None
        if self.code is None and isinstance(trailer.get("code"), int):
            self.code = trailer["code"]
        return text[:end].encode("utf-8")


def _starts(buf: bytes | bytearray, scan: int) -> Iterator[tuple[int, bytes]]:
    """`(position of "{", raw name)` of every `{"name":"…"` from `scan` on (a fast literal search first)."""
    position = buf.find(b'"name"', scan)
    while position != -1:
        start = _start_at(buf, position)
        if start is not None:
            yield start
        position = buf.find(b'"name"', position + 6)


def _start_at(buf: bytes | bytearray, position: int) -> tuple[int, bytes] | None:
    """`(position of "{", raw name)` when the `"name"` at `position` opens an object (`{"name":"…"`)."""
    brace = position - 1
    while brace >= 0 and buf[brace] in _WS:
        brace -= 1
    if brace < 0 or buf[brace] != 0x7B:  # "{"
        return None
    name = _name_at(buf, position)
    return None if name is None else (brace, name)


def _name_at(buf: bytes | bytearray, position: int) -> bytes | None:
    """The raw string value of the `"name"` key at `position` (compact output without a regex)."""
    if buf.startswith(b'"name":"', position):
        start = position + 8
        end = buf.find(b'"', start)
        if end != -1 and buf[end - 1] != 0x5C:  # no backslash: the name has no escapes
            return bytes(buf[start:end])
    value = _NAME_VALUE.match(buf, position)
    return None if value is None else bytes(value.group(1))


def _text(raw: bytes) -> str:
    return json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8", "replace")


def _trim(piece: bytes) -> bytes:
    """Drop the separator after an allocation: `,` within a set, `},{` (or more) between sets."""
    return piece[: _end(piece, len(piece))]


def _end(piece: bytes | bytearray, stop: int) -> int:
    """Where the separator after the allocation ending before `stop` begins (`,` or a set boundary `},{`)."""
    end = stop
    while end > 0 and piece[end - 1] in _WS:
        end -= 1
    if end > 0 and piece[end - 1] == 0x2C:  # ","
        return end - 1
    # a set boundary: …}<ws>}<ws>,<ws>{ (possibly with empty sets between): cut at the allocation's own end
    depth = 0
    cut = end
    while cut > 0 and piece[cut - 1] in _SET_BOUNDARY:
        cut -= 1
        char = piece[cut]
        if char == 0x7B:  # "{"
            depth += 1
        elif char == 0x7D:  # "}"
            depth -= 1
            if depth < 0:
                break
    return cut + 1
