"""Helpers to build native columns fast (dictionary takes) and to stream Parquet/CSV with bounded memory."""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BUFFER_ROWS = 131_072
US_PER_DAY = 86_400_000_000


def day_us(day: date) -> int:
    """Microseconds since the epoch at 00:00 UTC of `day`."""
    return (day - date(1970, 1, 1)).days * US_PER_DAY


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def uuid_of(rng: random.Random) -> str:
    """A version-4-shaped UUID drawn from `rng` (deterministic)."""
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def hex_of(text: str, n: int) -> str:
    """n hex digits derived from `text` (stable ids)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass
class Written:
    """One file the simulation wrote, relative to the store root, and its data rows."""

    key: str
    rows: int


def strings(values: Sequence[str | None], index: np.ndarray) -> pa.Array:
    """values[index] as a plain string column, built in C (a dictionary take)."""
    return pa.array(list(values), pa.string()).take(pa.array(index, pa.int64()))


def const(value: str | None, n: int) -> pa.Array:
    return strings([value], np.zeros(n, dtype=np.int64))


def _pairs(values: Sequence[dict[str, str]]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Offsets, keys and values of a list of dicts (keys sorted): the children of a map or key/value list."""
    keys: list[str] = []
    items: list[str] = []
    offsets = [0]
    for value in values:
        for k in sorted(value):
            keys.append(k)
            items.append(value[k])
        offsets.append(len(keys))
    return pa.array(offsets, pa.int32()), pa.array(keys, pa.string()), pa.array(items, pa.string())


def string_map(values: Sequence[dict[str, str]], index: np.ndarray) -> pa.Array:
    """A map<string,string> column: values[index]."""
    return pa.MapArray.from_arrays(*_pairs(values)).take(pa.array(index, pa.int64()))


def key_values(values: Sequence[dict[str, str]], index: np.ndarray) -> pa.Array:
    """BigQuery's ARRAY<STRUCT<key, value>> (labels, system_labels): values[index]."""
    offsets, keys, items = _pairs(values)
    struct = pa.StructArray.from_arrays([keys, items], names=["key", "value"])
    return pa.ListArray.from_arrays(offsets, struct).take(pa.array(index, pa.int64()))


def timestamps(us: np.ndarray, unit: str = "us") -> pa.Array:
    factor = {"us": 1, "ms": 1000, "s": 1_000_000}[unit]
    return pa.array(np.asarray(us, dtype=np.int64) // factor, pa.int64()).view(pa.timestamp(unit, tz="UTC"))


@dataclass
class ParquetParts:
    """Appends tables to `<stem>-00001.snappy.parquet`, rolling to a new part every `part_rows` rows."""

    root: Path
    key_of: Callable[[int], str]
    schema: pa.Schema
    part_rows: int = 5_000_000
    written: list[Written] = field(default_factory=list)
    _writer: pq.ParquetWriter | None = None
    _buffer: list[pa.Table] = field(default_factory=list)
    _buffered: int = 0
    _part_rows: int = 0

    def write(self, table: pa.Table) -> None:
        self._buffer.append(table)
        self._buffered += table.num_rows
        if self._buffered >= BUFFER_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer, self._buffered = [], 0
        while table.num_rows:
            if self._writer is None:
                key = self.key_of(len(self.written) + 1)
                path = self.root / key
                path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(path, self.schema, compression="snappy")
                self.written.append(Written(key, 0))
                self._part_rows = 0
            room = self.part_rows - self._part_rows
            head, table = table.slice(0, room), table.slice(room)
            self._writer.write_table(head, row_group_size=BUFFER_ROWS)
            self._part_rows += head.num_rows
            self.written[-1].rows += head.num_rows
            if self._part_rows >= self.part_rows:
                self._writer.close()
                self._writer = None

    def close(self) -> list[Written]:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self.written:  # an export with no rows still writes one (empty) file
            key = self.key_of(1)
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self.schema.empty_table(), self.root / key, compression="snappy")
            self.written.append(Written(key, 0))
        return self.written


@dataclass
class CsvParts:
    """Appends rows to CSV parts (header + minimal quoting, UTF-8 with BOM like Cost Management writes)."""

    root: Path
    key_of: Callable[[int], str]
    header: Sequence[str]
    part_rows: int = 2_000_000
    bom: bool = True
    written: list[Written] = field(default_factory=list)
    _file: io.TextIOWrapper | None = None
    _writer: object = None
    _part_rows: int = 0

    def write_rows(self, rows: list[Sequence[object]]) -> None:
        start = 0
        while start < len(rows):
            if self._file is None:
                key = self.key_of(len(self.written) + 1)
                path = self.root / key
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(path, "w", encoding="utf-8-sig" if self.bom else "utf-8", newline="")  # noqa: SIM115
                self._writer = csv.writer(self._file, lineterminator="\r\n")
                self._writer.writerow(self.header)  # type: ignore[attr-defined]
                self.written.append(Written(key, 0))
                self._part_rows = 0
            chunk = rows[start : start + self.part_rows - self._part_rows]
            self._writer.writerows(chunk)  # type: ignore[attr-defined]
            start += len(chunk)
            self._part_rows += len(chunk)
            self.written[-1].rows += len(chunk)
            if self._part_rows >= self.part_rows:
                self._file.close()
                self._file = None

    def close(self) -> list[Written]:
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self.written:  # an export with no rows still writes its header
            key = self.key_of(1)
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            with open(self.root / key, "w", encoding="utf-8-sig" if self.bom else "utf-8", newline="") as f:
                csv.writer(f, lineterminator="\r\n").writerow(self.header)
            self.written.append(Written(key, 0))
        return self.written
