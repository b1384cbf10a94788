"""What every billing reader shares: opening (gzip/zip/parquet/JSON lines), column lookup, typed conversion.

Conversions are vectorized with Arrow compute; text that repeats (timestamps, tags, resource ids) is parsed once per
distinct value (`map_unique`), so a 10M-row month costs a few thousand Python calls, not ten million.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from kubebill.errors import BillingFormatError
from kubebill.schema import COST, COST_COLUMNS, MAX_ABS_COST, TS
from kubebill.store.base import Store, copy_stream

BATCH_ROWS = 64 * 1024
CSV_BLOCK = 1024 * 1024  # larger blocks cost more in page faults (kernel time) than they save in parsing
JSON_BLOCK = 4 * 1024 * 1024  # at least the longest JSON line
PARQUET_BUFFER = 8 * 1024 * 1024
STREAM_BUFFER = 1024 * 1024
_NULLS = ("", "NULL", "null", "None", "NaN", "nan")  # text meaning "no value" in a text column
# in a number column NaN/Infinity text is a non-finite value, never a blank: `check_values` rejects its file
_NUMBER_NULLS = ("", "NULL", "null", "None")


def norm(name: str) -> str:
    """A header name reduced for lookup: localized ``Name (Field)`` → Field, lower-case, letters and digits only."""
    text = name.strip().lstrip("\ufeff")
    match = re.search(r"\(([A-Za-z0-9_]+)\)\s*$", text)
    if match:
        text = match[1]
    return re.sub(r"[^0-9a-z]", "", text.lower())


# ------------------------------------------------------------------------------------------- opening files


def compression_of(key: str) -> str:
    """'gzip', 'zip' or '' from the key's suffix."""
    low = key.lower()
    if low.endswith((".gz", ".gzip")):
        return "gzip"
    if low.endswith(".zip"):
        return "zip"
    return ""


def container_of(key: str) -> str:
    """'parquet', 'json' or 'csv' from the key's suffix (after any compression suffix)."""
    low = re.sub(r"\.(gz|gzip|zip)$", "", key.lower())
    if low.endswith((".parquet", ".snappy.parquet", ".pq")):
        return "parquet"
    if low.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    return "csv"


@contextlib.contextmanager
def seekable(store: Store, key: str) -> Iterator[BinaryIO]:
    """The object as a seekable file: the store's own stream when it seeks, else a temp copy (never in memory)."""
    stream = store.open(key)
    try:
        if stream.seekable():
            yield stream
            return
        with tempfile.TemporaryFile(prefix="kubebill-bill-") as spool:
            copy_stream(stream, spool)
            spool.seek(0)
            yield spool
    finally:
        stream.close()


@contextlib.contextmanager
def text_stream(store: Store, key: str) -> Iterator[pa.NativeFile]:
    """The decompressed bytes of a CSV/JSON object as an Arrow input stream."""
    compression = compression_of(key)
    if compression == "zip":
        with seekable(store, key) as raw:
            try:
                archive = zipfile.ZipFile(raw)
                members = [m for m in archive.infolist() if not m.is_dir()]
            except zipfile.BadZipFile as exc:
                raise BillingFormatError(f"{key}: not a readable zip archive ({exc})") from None
            if len(members) != 1:
                raise BillingFormatError(f"{key}: expected one file in the zip archive, found {len(members)}")
            with archive.open(members[0]) as member:
                yield pa.PythonFile(member, mode="r")
        return
    raw = store.open(key)
    try:
        # buffered: multi-MB block reads straight from a Python file make a fresh Python bytes object each, whose
        # pages the kernel faults in anew (half the page faults of a large CSV read)
        native = pa.BufferedInputStream(pa.PythonFile(raw, mode="r"), STREAM_BUFFER)
        yield pa.CompressedInputStream(native, "gzip") if compression == "gzip" else native
    finally:
        raw.close()


def wrap_io_error(key: str, exc: BaseException) -> BillingFormatError:
    """A decompression/parse failure as the user's error naming the file."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "gzip" in text.lower() or isinstance(exc, EOFError) or "truncated" in text.lower():
        return BillingFormatError(f"{key}: compressed data is truncated or corrupt ({text})")
    return BillingFormatError(f"{key}: {text}")


# What text exports are not, by their first bytes: what was found, and what to do.
_NOT_TEXT = (
    (b"\x1f\x8b", "gzip-compressed bytes under a name without .gz: expected plain text, or name it .gz"),
    (b"PK\x03\x04", "a zip archive under a name without .zip: expected plain text, or name it .zip"),
    (b"PAR1", "a Parquet file under a name without .parquet: expected plain text, or name it .parquet"),
    (b"\xff\xfe", "UTF-16 text: expected UTF-8 (export or save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text: expected UTF-8 (export or save it as UTF-8)"),
)


def _check_text(key: str, head: bytes) -> None:
    """BillingFormatError naming what the object is when its first bytes are not text a CSV or JSON export has."""
    for magic, found in _NOT_TEXT:
        if head.startswith(magic):
            raise BillingFormatError(f"{key}: {found}")


def read_header(store: Store, key: str) -> list[str]:
    """The column names of a CSV (first line; BOM and quotes handled) or parquet/JSON-lines object."""
    container = container_of(key)
    try:
        if container == "parquet":
            with seekable(store, key) as raw:
                return flat_names(pq.ParquetFile(raw).schema_arrow)
        with text_stream(store, key) as stream:
            head = stream.read(1024 * 1024)
    except BillingFormatError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError) as exc:
        raise wrap_io_error(key, exc) from None
    _check_text(key, head)
    text = head.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0].rstrip("\r")
    if container == "json":
        try:
            return list(flatten_record(json.loads(first)).keys())
        except ValueError:
            raise BillingFormatError(f"{key}: line 1 is not a JSON object") from None
    if not first.strip():
        raise BillingFormatError(f"{key}: empty file, expected a header line")
    try:
        return next(csv.reader([first]))
    except csv.Error as exc:  # a bare CR or a NUL inside the header line
        raise BillingFormatError(f"{key}: line 1 (the header) is not CSV: {exc}") from None


def first_data_fields(store: Store, key: str) -> int | None:
    """How many fields the first data row of a CSV has (None when there is no data row)."""
    with text_stream(store, key) as stream:
        head = stream.read(4 * 1024 * 1024).decode("utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(head))
    try:
        next(rows, None)
        row = next(rows, None)
    except csv.Error as exc:
        raise BillingFormatError(f"{key}: line {rows.line_num} is not CSV: {exc}") from None
    return len(row) if row is not None else None


def flat_names(schema: pa.Schema) -> list[str]:
    """Column names with struct fields spelled out (``resource.name``), as the readers see them after flattening."""

    def walk(prefix: str, type_: pa.DataType) -> list[str]:
        if pa.types.is_struct(type_):
            return [n for child in type_ for n in walk(f"{prefix}.{child.name}", child.type)]
        return [prefix]

    return [n for field in schema for n in walk(field.name, field.type)]


def flatten_record(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON objects flattened to dotted names (``service.description``); lists kept."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            out.update(flatten_record(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def unique_names(names: Sequence[str]) -> list[str]:
    """Header names made unique (a repeated name gets ``#2``, ``#3``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}#{count}")
    return out


def csv_batches(
    store: Store, key: str, names: Sequence[str], include: Sequence[str], *, coded: frozenset[str] = frozenset()
) -> Iterator[pa.RecordBatch]:
    """Data rows of a CSV as text columns `include` (parsed later, so errors name row and column), in batches.

    Columns whose normalized name is in `coded` (ids, dates, tags: few distinct values, per-value work) come
    dictionary-encoded, so that work runs once per distinct value without hashing again; the rest plain text.
    """
    problems: list[str] = []

    def on_bad_row(row: Any) -> str:
        line = f"line {row.number}" if row.number is not None else "a row"
        problems.append(f"{line}: expected {row.expected_columns} columns, found {row.actual_columns}")
        return "error"

    read = pacsv.ReadOptions(column_names=list(names), skip_rows=1, block_size=CSV_BLOCK)
    parse = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_bad_row)
    convert = pacsv.ConvertOptions(
        column_types={
            name: pa.dictionary(pa.int32(), pa.string()) if norm(name) in coded else pa.string() for name in include
        },
        include_columns=list(include),
        null_values=list(_NUMBER_NULLS),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        with text_stream(store, key) as stream:
            reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
            yield from _gather(reader)
    except BillingFormatError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError) as exc:
        if problems:
            raise BillingFormatError(f"{key}: {_locate_bad_row(store, key, len(names)) or problems[0]}") from None
        raise wrap_io_error(key, exc) from None


def _locate_bad_row(store: Store, key: str, expected: int) -> str | None:
    """On the error path only: stream the file with the csv module to name the first row of the wrong width."""
    import codecs

    with text_stream(store, key) as stream:
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")

        def lines() -> Iterator[str]:
            pending = ""
            while chunk := stream.read(1024 * 1024):
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for line in complete:
                    yield line + "\n"
            if pending:
                yield pending

        reader = csv.reader(lines())
        try:
            next(reader, None)
            for index, row in enumerate(reader):
                if len(row) != expected:
                    return f"row {index} (line {reader.line_num}): expected {expected} columns, found {len(row)}"
        except csv.Error as exc:
            return f"line {reader.line_num} is not CSV: {exc}"
    return None


def parquet_batches(store: Store, key: str, include: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
    """Row groups of a parquet object, column-projected, in bounded batches (a temp copy if the store cannot seek)."""
    try:
        with seekable(store, key) as raw:
            schema = pq.read_schema(raw)
            raw.seek(0)
            columns = list(include) if include is not None else None
            text = [
                f.name
                for f in schema
                if (columns is None or f.name in columns)
                and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            ]
            # text columns stay dictionary-encoded as parquet stores them: per-value work runs on the dictionary
            handle = pq.ParquetFile(raw, read_dictionary=text, buffer_size=PARQUET_BUFFER, pre_buffer=False)
            yield from handle.iter_batches(batch_size=BATCH_ROWS, columns=columns)
    except BillingFormatError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError) as exc:
        raise wrap_io_error(key, exc) from None


def json_batches(store: Store, key: str) -> Iterator[pa.RecordBatch]:
    """JSON-lines rows with nested objects flattened to dotted column names."""
    try:
        with text_stream(store, key) as stream:
            reader = pajson.open_json(stream, read_options=pajson.ReadOptions(block_size=JSON_BLOCK))
            for batch in reader:
                yield from _slices(flatten_batch(batch))
    except BillingFormatError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError) as exc:
        raise wrap_io_error(key, exc) from None


def flatten_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Struct columns flattened to dotted names (``resource.name``), repeatedly."""
    while any(pa.types.is_struct(field.type) for field in batch.schema):
        arrays, names = [], []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            if pa.types.is_struct(field.type):
                for index, child in enumerate(field.type):
                    arrays.append(pc.struct_field(column, [index]))
                    names.append(f"{field.name}.{child.name}")
            else:
                arrays.append(column)
                names.append(field.name)
        batch = pa.RecordBatch.from_arrays(arrays, names=names)
    return batch


def prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read the next batches on a background thread while the caller converts this one (overlaps IO/decoding)."""
    import queue
    import threading

    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        box.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(("error", exc))

    worker = threading.Thread(target=produce, name="kubebill-bill-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)


def _gather(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Small parsed blocks combined into batches of about BATCH_ROWS (dictionaries unified)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= BATCH_ROWS:
            yield _combine(pending)
            pending, rows = [], 0
    if pending:
        yield _combine(pending)


def _combine(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches).unify_dictionaries().combine_chunks()
    return table.to_batches()[0]


def _slices(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(start, BATCH_ROWS)


# ------------------------------------------------------------------------------------------- column access


@dataclass
class Columns:
    """One input batch with lookup by normalized name, and where it sits in its file (for error messages)."""

    batch: pa.RecordBatch
    key: str
    row_offset: int
    nulls_done: bool = False  # the CSV reader already made blank/NULL text null (NaN text is left to `codes`)

    def __post_init__(self) -> None:
        self.index: dict[str, int] = {}
        for position, name in enumerate(self.batch.schema.names):
            self.index.setdefault(norm(name), position)

    @property
    def n(self) -> int:
        return int(self.batch.num_rows)

    def name(self, *aliases: str) -> str | None:
        for alias in aliases:
            if alias in self.index:
                return str(self.batch.schema.names[self.index[alias]])
        return None

    def get(self, *aliases: str) -> pa.Array | None:
        for alias in aliases:
            if alias in self.index:
                column = self.batch.column(self.index[alias])
                return column
        return None

    def text(self, *aliases: str) -> pa.Array | None:
        column = self.codes(*aliases)
        if column is not None and pa.types.is_dictionary(column.type):
            return column.dictionary_decode()
        return column

    def codes(self, *aliases: str) -> pa.Array | None:
        """Text for `map_unique`: a dictionary column stays one (blank/NULL values made null in its dictionary)."""
        column = self.get(*aliases)
        if column is None:
            return None
        if is_text(column.type) and pa.types.is_dictionary(column.type):
            return _clean_dictionary(column)
        return as_text(column)

    def number(self, *aliases: str) -> pa.Array | None:
        column = self.get(*aliases)
        if column is None:
            return None
        if self.nulls_done and pa.types.is_string(column.type):
            try:  # the common case, straight from the CSV reader: plain numbers, blanks already null
                return pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        return as_number(column, self.key, self.name(*aliases) or aliases[0], self.row_offset)

    def time(self, *aliases: str) -> pa.Array | None:
        column = self.get(*aliases)
        if column is None:
            return None
        return as_time(column, self.key, self.name(*aliases) or aliases[0], self.row_offset)


def is_text(type_: pa.DataType) -> bool:
    """String, large string, or a dictionary of strings."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))


def as_text(column: pa.Array, nulls: Sequence[str] = _NULLS) -> pa.Array:
    """Text; CSV readers already turned blank and literal NULL into null, other sources get the same here."""
    if pa.types.is_map(column.type):
        return map_to_json(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string(column.type):
        if column.null_count == len(column) or not _has_null_text(column, nulls):
            return column
    elif pa.types.is_nested(column.type):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()], pa.string())
    else:
        column = pc.cast(column, pa.string())
    blank = pc.is_in(column, value_set=pa.array(nulls, pa.string()))
    return pc.if_else(blank, pa.scalar(None, pa.string()), column)


def _clean_dictionary(column: pa.Array) -> pa.Array:
    """A dictionary column whose blank/NULL dictionary values are null (work on the dictionary only)."""
    values = pc.cast(column.dictionary, pa.string())
    blank = pc.is_in(values, value_set=pa.array(_NULLS, pa.string()))
    if not pc.any(blank).as_py():
        return column
    return pa.DictionaryArray.from_arrays(column.indices, pc.if_else(blank, pa.scalar(None, pa.string()), values))


def _has_null_text(column: pa.Array, nulls: Sequence[str]) -> bool:
    """Whether a string column holds '', 'NULL' or the like (cheap: checked on the distinct short values)."""
    short = pc.filter(column, pc.less_equal(pc.utf8_length(column), 4))
    if len(short) == 0:
        return False
    return bool(pc.any(pc.is_in(pc.unique(short), value_set=pa.array(nulls, pa.string()))).as_py())


def as_number(column: pa.Array, key: str, name: str, row_offset: int) -> pa.Array:
    """float64; blank/NULL → null; NaN/Infinity text → NaN/±inf (for `check_values` to reject, never a silent
    null); any other non-number raises naming file, row and column."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_decimal(column.type):
        return pc.cast(column, pa.float64())
    text = pc.utf8_trim_whitespace(as_text(column, _NUMBER_NULLS))
    try:
        return pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            float(value)
        except ValueError:
            raise BillingFormatError(
                f"{key}: row {row_offset + index} column {name!r}: expected a number, found {value!r}"
            ) from None
    return pa.array([None if v is None else float(v) for v in text.to_pylist()], pa.float64())


_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ", "%Y%m%d")


def parse_time(text: str | None) -> datetime | None:
    """One timestamp in any form the exports write; naive values are UTC. ValueError when unreadable."""
    if text is None:
        return None
    value = text.strip()
    if not value or value in _NULLS:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
    except ValueError:
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_time(column: pa.Array, key: str, name: str, row_offset: int) -> pa.Array:
    """UTC timestamps from timestamp/date/text columns; unreadable text raises naming row and column."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            return column.cast(pa.timestamp(column.type.unit, tz="UTC")).cast(TS)  # naive = UTC
        return pc.cast(column, TS)
    if pa.types.is_date(column.type):
        return pc.cast(column, pa.timestamp("us")).cast(TS)
    dictionary = pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type)
    text = column if dictionary else as_text(column)

    def parse(value: object) -> datetime | None:
        try:
            return parse_time(None if value is None else str(value))
        except ValueError:
            index = text.to_pylist().index(value)
            raise BillingFormatError(
                f"{key}: row {row_offset + index} column {name!r}: expected a date/time, found {value!r}"
            ) from None

    return map_unique(parse, text, TS)


def map_unique(
    func: Callable[[Any], Any], column: pa.Array, out_type: pa.DataType, *, keep_dictionary: bool = False
) -> pa.Array:
    """`func` applied once per distinct value of `column`, spread back to every row.

    A dictionary column (parquet/CSV text read as dictionary) maps its dictionary: no hashing at all.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        values = pa.array([func(value) for value in column.dictionary.to_pylist()], out_type)
        if keep_dictionary and column.null_count == 0:
            return pa.DictionaryArray.from_arrays(column.indices, values)
        result = values.take(column.indices)
        if column.null_count:
            result = pc.fill_null(result, pa.scalar(func(None), out_type))
        return result
    distinct = pc.unique(column)
    mapped = pa.array([func(value) for value in distinct.to_pylist()], out_type)
    return mapped.take(pc.index_in(column, value_set=distinct))


def _codes(column: pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (0 = null) and the values they stand for, of a dictionary or any other column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    codes = pc.fill_null(pc.cast(encoded.indices, pa.int64()), -1).to_numpy(zero_copy_only=False) + 1
    return codes, [None, *encoded.dictionary.to_pylist()]


def map_pairs(
    func: Callable[[Any, Any], Any], left: pa.Array | None, right: pa.Array | None, n: int, out_type: pa.DataType
) -> pa.Array:
    """`func(left, right)` once per distinct pair of values (either side may be absent: None)."""
    lcodes, lvalues = _codes(left) if left is not None else (np.zeros(n, dtype=np.int64), [None])
    rcodes, rvalues = _codes(right) if right is not None else (np.zeros(n, dtype=np.int64), [None])
    width = len(rvalues)
    distinct, inverse = _distinct(lcodes * width + rcodes, len(lvalues) * width)
    mapped = [func(lvalues[c // width], rvalues[c % width]) for c in distinct.tolist()]
    return pa.array(mapped, out_type).take(pa.array(inverse))


def pair_text(left: pa.Array | None, right: pa.Array | None, n: int) -> pa.Array:
    """Two text columns joined with a separator nothing contains (for `map_unique` over pairs)."""
    a = left if left is not None else pa.nulls(n, pa.string())
    b = right if right is not None else pa.nulls(n, pa.string())
    a = pc.fill_null(pc.cast(a, pa.string()), "\x00")
    b = pc.fill_null(pc.cast(b, pa.string()), "\x00")
    return pc.binary_join_element_wise(a, b, "\x1f")


def split_pair(value: str) -> tuple[str | None, str | None]:
    left, right = value.split("\x1f", 1)
    return (None if left == "\x00" else left, None if right == "\x00" else right)


@dataclass
class MapEntries:
    """The entries of a map<string,string> column as codes of their distinct (key, value) pairs."""

    column: pa.Array  # the map column, unsliced
    pairs: list[tuple[str, str | None]]  # the distinct (key, value) pairs
    inverse: np.ndarray  # per entry: its index in `pairs`

    @classmethod
    def of(cls, column: pa.Array) -> MapEntries:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if column.offset != 0:
            column = column.take(pa.array(np.arange(len(column), dtype=np.int64)))
        keys, values = column.keys, column.items
        keys = keys if pa.types.is_dictionary(keys.type) else pc.dictionary_encode(pc.cast(keys, pa.string()))
        values = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(pc.cast(values, pa.string()))
        width = len(values.dictionary) + 1
        key_codes = keys.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        value_codes = pc.fill_null(values.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
        distinct, inverse = _distinct(key_codes * width + value_codes, len(keys.dictionary) * width)
        key_names = keys.dictionary.to_pylist()
        value_names = values.dictionary.to_pylist()
        pairs = [
            (str(key_names[code // width]), None if code % width == 0 else value_names[code % width - 1])
            for code in distinct.tolist()
        ]
        return cls(column, pairs, inverse.reshape(-1))

    def _rows(self) -> tuple[pa.Array, list[list[int]]]:
        """Per row: the index of its distinct entry sequence (null for a null map), and those sequences.

        Each row's entry codes, as raw bytes, are one binary value, so Arrow hashes whole rows exactly.
        """
        offsets = self.column.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        base = offsets[0]
        codes = self.inverse[base : offsets[-1]].astype(np.int32)
        byte_offsets = ((offsets - base) * 4).astype(np.int32)
        validity = self.column.buffers()[0]
        rows = pa.Array.from_buffers(
            pa.binary(), len(self.column), [validity, pa.py_buffer(byte_offsets), pa.py_buffer(codes.tobytes())]
        )
        encoded = pc.dictionary_encode(rows)
        sequences = [list(np.frombuffer(v, dtype=np.int32)) for v in encoded.dictionary.to_pylist()]
        return encoded.indices, sequences

    def per_row_first(self, func: Callable[[str, str | None], str | None]) -> pa.Array:
        """Per row: `func` of its first entry for which it is not None (evaluated once per distinct row)."""
        indices, sequences = self._rows()
        mapped = [func(k, v) for k, v in self.pairs]
        firsts = [next((mapped[c] for c in seq if mapped[c] is not None), None) for seq in sequences]
        return pa.array(firsts, pa.string()).take(indices)

    def json(self) -> pa.Array:
        """Per row: the map as JSON object text (null map → null), formatted once per distinct row."""
        indices, sequences = self._rows()
        texts = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in self.pairs]
        rows = ["{" + ",".join(texts[c] for c in seq) + "}" for seq in sequences]
        return pa.array(rows, pa.string()).take(indices)


def _distinct(codes: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(codes, return_inverse=True), in linear time when the code space is small."""
    if space > 8 * 1024 * 1024:
        distinct, inverse = np.unique(codes, return_inverse=True)
        return distinct, inverse.reshape(-1)
    seen = np.zeros(space, dtype=bool)
    seen[codes] = True
    distinct = np.flatnonzero(seen)
    remap = np.full(space, -1, dtype=np.int64)
    remap[distinct] = np.arange(len(distinct), dtype=np.int64)
    return distinct, remap[codes]


def map_to_json(column: pa.Array) -> pa.Array:
    """A map<string,string> column as JSON object text per row (null map → null)."""
    return MapEntries.of(column).json()


def tags_json(value: object) -> str | None:
    """Tags as a JSON object text from a dict, JSON text, Azure text without braces, or GCP label lists."""
    if value is None:
        return None
    parsed: object = value
    if isinstance(value, str):
        text = value.strip()
        if not text or text in _NULLS or text in ("{}", "[]"):
            return None if text in _NULLS else "{}"
        if not text.startswith(("{", "[")):
            text = "{" + text + "}"
        try:
            parsed = json.loads(text)
        except ValueError:
            import ast

            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return json.dumps({"_raw": value})
    if isinstance(parsed, list):
        parsed = {str(item.get("key")): item.get("value") for item in parsed if isinstance(item, dict)}
    if isinstance(parsed, dict):
        return json.dumps({str(k): v for k, v in parsed.items()}, separators=(",", ":"), sort_keys=True)
    return json.dumps({"_raw": value}, default=str)


# ------------------------------------------------------------------------------------------- output


def constant(value: str | None, n: int) -> pa.Array:
    """`value` on `n` rows: a slice of one array kept per value (no new buffers per batch)."""
    size = max(BATCH_ROWS * 2, 1 << max(n - 1, 0).bit_length())
    if value is not None and len(value) * size > CONSTANT_BYTES:
        return pa.repeat(pa.scalar(value, pa.string()), n)
    return _repeated(value, size).slice(0, n)


CONSTANT_BYTES = 16 * 1024 * 1024


@lru_cache(maxsize=4)
def _repeated(value: str | None, size: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), size)


def lower(column: pa.Array | None) -> pa.Array | None:
    return None if column is None else pc.utf8_lower(column)


def finish(values: dict[str, pa.Array | None], cols: Columns, fmt: str) -> pa.RecordBatch:
    """The COST batch: given columns cast, missing ones null, provenance columns filled."""
    n = cols.n
    values = dict(values)
    values["x_BillingFormat"] = constant(fmt, n)
    values["x_SourceKey"] = constant(cols.key, n)
    values["x_SourceRowId"] = pa.array(np.arange(cols.row_offset, cols.row_offset + n, dtype=np.int64))
    arrays = []
    for field in COST:
        column = values.get(field.name)
        if column is None:
            arrays.append(pa.nulls(n, field.type))
        else:
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            arrays.append(column if column.type == field.type else pc.cast(column, field.type))
    batch = pa.RecordBatch.from_arrays(arrays, schema=COST)
    check_values(batch, cols.key, currency=values.get("BillingCurrency") is not None)
    return batch


def check_values(batch: pa.RecordBatch, key: str, *, currency: bool = True) -> None:
    """Raise BillingFormatError naming file, row and column for non-finite or implausible money, money with no
    charge period start (no day would ever count it), or money with a blank currency (when the file has a currency
    column): such a line must never reach a total, nor be left out of one unseen."""
    priced = None
    for name in COST_COLUMNS:
        column = batch.column(name)
        if column.null_count == len(column):
            continue
        bad = pc.invert(pc.less_equal(pc.abs(column), MAX_ABS_COST))  # NaN compares false: it is bad too
        if pc.any(pc.fill_null(bad, False)).as_py():
            index = pc.index(pc.fill_null(bad, False), True).as_py()
            raise BillingFormatError(
                f"{key}: row {batch.column('x_SourceRowId')[index].as_py()} column {name!r}: expected a finite cost "
                f"below {MAX_ABS_COST:g}, found {column[index].as_py()!r}"
            )
        present = pc.is_valid(column)
        priced = present if priced is None else pc.or_(priced, present)
        _check_dated(batch, key, name)
    _check_period(batch, key)
    if priced is None or not currency:
        return
    codes = batch.column("BillingCurrency")
    blank = pc.or_(pc.is_null(codes), pc.equal(pc.utf8_trim_whitespace(pc.fill_null(codes, "")), ""))
    missing = pc.and_(priced, blank)
    if pc.any(missing).as_py():
        index = pc.index(missing, True).as_py()
        raise BillingFormatError(
            f"{key}: row {batch.column('x_SourceRowId')[index].as_py()} column 'BillingCurrency': expected a "
            "currency code for the line's cost, found a blank"
        )


def _check_dated(batch: pa.RecordBatch, key: str, name: str) -> None:
    """A line with money in `name` and no ChargePeriodStart belongs to no day: it would be counted in the file's
    rows and in no day's total, its money dropped without a word."""
    starts = batch.column("ChargePeriodStart")
    if starts.null_count == 0:
        return
    undated = pc.and_(pc.is_null(starts), pc.not_equal(pc.fill_null(batch.column(name), 0.0), 0.0))
    if pc.any(undated).as_py():
        index = pc.index(undated, True).as_py()
        raise BillingFormatError(
            f"{key}: row {batch.column('x_SourceRowId')[index].as_py()} column 'ChargePeriodStart': expected the "
            f"start of the line's charge period, found a blank (its {name} is {batch.column(name)[index].as_py()!r})"
        )


def _check_period(batch: pa.RecordBatch, key: str) -> None:
    """A line with money whose ChargePeriodEnd is before its ChargePeriodStart overlaps no allocation: its money
    would go whole to its key's rest target (a node's idle) as if no pod had run there."""
    starts, ends = batch.column("ChargePeriodStart"), batch.column("ChargePeriodEnd")
    backwards = pc.fill_null(pc.less(ends, starts), False)
    if not pc.any(backwards).as_py():
        return  # nearly always: the lines' money is looked at only when a line runs backwards
    priced = [pc.not_equal(pc.fill_null(batch.column(name), 0.0), 0.0) for name in COST_COLUMNS]
    money = priced[0]
    for column in priced[1:]:
        money = pc.or_(money, column)
    backwards = pc.and_(backwards, money)
    if pc.any(backwards).as_py():
        index = pc.index(backwards, True).as_py()
        raise BillingFormatError(
            f"{key}: row {batch.column('x_SourceRowId')[index].as_py()} column 'ChargePeriodEnd': expected the end "
            f"of the line's charge period at or after its start {starts[index].as_py().isoformat()}, found "
            f"{ends[index].as_py().isoformat()}"
        )


def coalesce(*columns: pa.Array | None) -> pa.Array | None:
    present = [c for c in columns if c is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else pc.coalesce(*present)


@lru_cache(maxsize=1 << 16)
def tags_text(value: str | None) -> str | None:
    """`tags_json` of one text value, remembered (the same tag sets repeat on every line of a resource)."""
    return tags_json(value)


def pricing_category(*, spot: pa.Array, committed: pa.Array, category: pa.Array) -> pa.Array:
    """FOCUS PricingCategory of usage lines: spot → Dynamic, RI/SP/CUD → Committed, else Standard; null otherwise."""
    return pc.case_when(
        pc.make_struct(spot, committed, pc.equal(category, "Usage")),
        pa.scalar("Dynamic"),
        pa.scalar("Committed"),
        pa.scalar("Standard"),
        pa.scalar(None, pa.string()),
    )


def split_children(batch: pa.RecordBatch | pa.Table) -> pa.Array:
    """The rows that are only a cloud's split of another line, never a bill line: AWS split cost allocation rows
    (``x_CloudSplit.parent`` set; their parent line carries the bill). The `bill_lines` stage leaves out the same."""
    result = pc.is_valid(pc.struct_field(batch.column("x_CloudSplit"), "parent"))
    return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result
