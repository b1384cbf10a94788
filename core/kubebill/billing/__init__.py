"""Cloud billing exports → the COST schema (FOCUS names), in bounded record batches.

Public API (used by the merge and the blob-created handler):

- ``scan(store, layout) -> Scan``: the units to read under the billing prefix (newest complete run per export and
  period, Azure Actual + Amortized paired), the rejected files (key + reason: record them) and the skipped ones
  (superseded runs, data waiting for its manifest).
- ``read(store, unit, *, days=None) -> Iterator[pa.RecordBatch]``: the unit's lines in the COST schema, only those
  whose ChargePeriodStart falls on one of `days` (UTC). Headers are checked before anything is yielded; a defect
  deeper in a file (a bad number on row 9,000,000, a truncated gzip) raises BillingFormatError after earlier
  batches were yielded, so a consumer must discard a unit's partial output when read raises — or call ``stage``.
- ``stage(store, unit, directory, *, days=None) -> Path``: all-or-nothing: the whole unit read into an Arrow IPC
  file under `directory` (bounded memory), returned only when every line was read; nothing is left on failure.
- ``route(store, layout, key) -> Route``: what a created key means for the event handler.

Memory: files stream in batches of about 64k rows (CSV parsed in 4 MB blocks, parquet page by page, a temp copy
when a store cannot seek); an Actual + Amortized pair is joined (DuckDB) over the requested days of both exports,
so it holds those days' lines, not the month. Decisions where the exports leave room: see each reader's module doc
(AWS split rows kept as the cloud's split, Azure pairing rule, Google net cost) and ``kubebill.keys`` (key forms,
one module per cloud).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from kubebill.billing import azure_exports
from kubebill.billing.common import (
    Columns,
    container_of,
    csv_batches,
    first_data_fields,
    flatten_batch,
    json_batches,
    parquet_batches,
    prefetch,
    read_header,
    split_children,
    unique_names,
)
from kubebill.billing.detect import FORMATS, detect, module, wanted
from kubebill.billing.runs import Part, Scan, Skipped, Unit, in_export_layout, is_data_file, parse_manifest, scan
from kubebill.errors import BillingFormatError
from kubebill.layout import Kind, Layout
from kubebill.schema import COST
from kubebill.store.base import Store

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FORMATS",
    "BillingFormatError",
    "Part",
    "Route",
    "Scan",
    "Skipped",
    "Unit",
    "read",
    "read_file",
    "route",
    "scan",
    "stage",
]


def _day_filter(batch: pa.RecordBatch, days: frozenset[date] | None) -> pa.RecordBatch:
    if days is None:
        return batch
    day = pc.cast(batch.column("ChargePeriodStart"), pa.date32())
    return batch.filter(pc.fill_null(pc.is_in(day, value_set=pa.array(sorted(days), pa.date32())), False))


def read_file(
    store: Store,
    key: str,
    fmt: str | None = None,
    *,
    days: Iterable[date] | None = None,
    excluded: dict[str, int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """One billing file → COST batches (format detected from its header when not given).

    Rows that are no bill line by a reader's rule (AWS split cost allocation rows: dropped, or kept only as the
    cloud's split, `common.split_children`) are added to `excluded[rule]`."""
    wanted_days = None if days is None else frozenset(days)
    header = read_header(store, key)
    fmt = fmt or detect(header, key)
    found = detect(header, key, azure_type=fmt)
    if found.split("-")[0] != fmt.split("-")[0] or (fmt.startswith("aws") and found != fmt):
        raise BillingFormatError(f"{key}: expected a {fmt} header, found one of {found}")
    reader = module(fmt)
    container = container_of(key)
    offset = 0
    if container == "csv":
        names = unique_names(header)
        fields = first_data_fields(store, key)
        if fields is not None and fields < len(names):
            # published CUR quirk: trailing header columns the rows do not carry (koku test_cur.csv)
            names = names[:fields]
        batches = csv_batches(store, key, names, wanted(fmt, names), coded=reader.CODED)
    elif container == "parquet":
        projection = wanted(fmt, header) if fmt.startswith(("aws", "azure-a")) else None
        batches = parquet_batches(store, key, projection)
    else:
        batches = json_batches(store, key)
    nested = fmt.startswith(("gcp", "focus", "azure-focus"))
    clean = container == "csv"  # the CSV reader already made blank/NULL null; parquet text is checked

    rule = str(getattr(reader, "EXCLUDED_RULE", "left out by the reader"))
    counting = threading.Lock()  # two batches convert at once

    def convert(raw: pa.RecordBatch, offset: int) -> pa.RecordBatch | None:
        batch = flatten_batch(raw) if nested else raw
        converted = reader.convert(Columns(batch, key, offset, nulls_done=clean), fmt)
        dropped = raw.num_rows - (0 if converted is None else converted.num_rows)
        if converted is not None:
            dropped += pc.sum(split_children(converted)).as_py() or 0
        if dropped and excluded is not None:
            with counting:
                excluded[rule] = excluded.get(rule, 0) + dropped
        return None if converted is None else _day_filter(converted, wanted_days)

    # two batches convert at once (Arrow kernels release the GIL); results come back in file order
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kubebill-bill") as pool:
        pending: deque[Future[pa.RecordBatch | None]] = deque()
        for raw in prefetch(batches, depth=1):
            if raw.num_rows == 0:
                continue
            pending.append(pool.submit(convert, raw, offset))
            offset += raw.num_rows
            if len(pending) >= 2:
                done = pending.popleft().result()
                if done is not None and done.num_rows:
                    yield done
        while pending:
            done = pending.popleft().result()
            if done is not None and done.num_rows:
                yield done


def read(
    store: Store,
    unit: Unit,
    *,
    days: set[date] | frozenset[date] | None = None,
    excluded: dict[str, int] | None = None,
    connect: Callable[[], duckdb.DuckDBPyConnection] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The unit's lines as COST batches (see the module doc for the partial-output rule); rows left out by rule
    are counted in `excluded`. `connect` opens the DuckDB session that pairs Azure Actual and Amortized exports
    (the caller's engine session, kubebill.reconcile.session: the readers connect nothing themselves)."""
    data = [p for p in unit.parts if p.role != "manifest"]
    if unit.format == "azure-actual+amortized":
        if connect is None:
            raise ValueError(
                f"{unit.keys[0]}: an Azure Actual+Amortized pair is read on a DuckDB session: pass connect"
            )
        actual = _reader(store, [p for p in data if p.role == "actual"], days, excluded)
        amortized = _reader(store, [p for p in data if p.role == "amortized"], days, excluded)
        yield from azure_exports.pair(actual, amortized, connect=connect)
        return
    for part in data:
        yield from read_file(store, part.key, part.format, days=days, excluded=excluded)


def _reader(
    store: Store, parts: list[Part], days: set[date] | frozenset[date] | None, excluded: dict[str, int] | None
) -> pa.RecordBatchReader:
    """The parts' lines as one stream, read as it is consumed."""
    batches = (b for p in parts for b in read_file(store, p.key, p.format, days=days, excluded=excluded))
    return pa.RecordBatchReader.from_batches(COST, batches)


def stage(store: Store, unit: Unit, directory: str | os.PathLike[str], *, days: set[date] | None = None) -> Path:
    """All-or-nothing read: the unit's COST lines in an Arrow IPC file, or BillingFormatError and no file."""
    handle, name = tempfile.mkstemp(prefix="kubebill-bill-", suffix=".arrow", dir=directory)
    os.close(handle)
    path = Path(name)
    try:
        with ipc.new_file(str(path), COST) as writer:
            for batch in read(store, unit, days=days):
                writer.write_batch(batch)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return path


@dataclass(frozen=True)
class Route:
    ready: bool
    days: list[date] = field(default_factory=list)
    reason: str = ""


def route(store: Store, layout: Layout, key: str) -> Route:
    """What a created billing key means: ready (with the days it covers) or not (with why)."""
    parsed = layout.parse(key)
    if parsed.kind is not Kind.BILLING:
        return Route(False, [], "not under the billing prefix")
    name = key.rsplit("/", 1)[-1].lower()
    if name == "manifest.json" or name.endswith("-manifest.json"):
        info = store.head(key)
        run = parse_manifest(info, store.read_bytes(key))
        if run is None:
            return Route(False, [], "not a manifest kubebill knows")
        if run.days is None:
            return Route(True, [], "manifest without a billing period: merge the days its data covers")
        return Route(True, list(run.days), f"manifest of {run.export} {run.period}")
    if not is_data_file(key):
        return Route(False, [], "not a billing export: unknown file type")
    if in_export_layout(key):
        listed = scan(store, layout)
        for unit in listed.units:
            if key in unit.keys:
                return Route(True, list(unit.days or ()), f"part of {unit.export} {unit.period}")
        return Route(False, [], "waiting for manifest")
    try:
        header = read_header(store, key)
        fmt = detect(header, key)
        found = _charge_days(store, key, fmt)
    except BillingFormatError as exc:
        return Route(False, [], str(exc))
    return Route(True, sorted(found), fmt)


def _charge_days(store: Store, key: str, fmt: str) -> set[date]:
    """The UTC days a self-contained file's lines start on (reads only the columns needed)."""
    days: set[date] = set()
    for batch in read_file(store, key, fmt):
        column = pc.cast(batch.column("ChargePeriodStart"), pa.date32())
        days.update(d for d in pc.unique(column).to_pylist() if d is not None)
    return days
