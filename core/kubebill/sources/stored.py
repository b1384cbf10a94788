"""Allocation exports already in the store: list them by day, and read one day of every cluster as ALLOCATION.

Files are copied to a local work folder and scanned lazily (a pyarrow dataset with the ALLOCATION
schema), so a day of millions of rows never sits whole in memory. A file written by an older version
is read when it can be (missing optional columns become nulls, compatible types are cast); otherwise
an InputError names the file and the column.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kubebill.errors import InputError
from kubebill.layout import Kind, Layout
from kubebill.schema import ALLOCATION, MAX_ABS_COST
from kubebill.store.base import ObjectInfo, Store, copy_stream


@dataclass
class DayAllocations:
    """One UTC day of allocation exports, every cluster, ready to scan."""

    day: date
    objects: list[ObjectInfo] = field(default_factory=list)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (cluster, source) -> key
    dataset: ds.Dataset | None = None

    def table(self) -> pa.Table:
        return self.dataset.to_table() if self.dataset is not None else ALLOCATION.empty_table()


def by_day(store: Store, layout: Layout) -> dict[date, list[ObjectInfo]]:
    """Every allocation export in the store, grouped by its UTC day."""
    found: dict[date, list[ObjectInfo]] = {}
    for info in store.list(layout.allocations_root()):
        parsed = layout.parse(info.key)
        if parsed.kind is Kind.ALLOCATION and parsed.day is not None:
            found.setdefault(parsed.day, []).append(info)
    return dict(sorted(found.items()))


def overlapping(layout: Layout, objects: Iterable[ObjectInfo]) -> dict[str, str]:
    """One allocation export counts per cluster and day: the newest (by modified time, then key), as for billing
    exports. Two sources of one cluster-day (OpenCost and Kubecost during a migration, the AKS agent beside
    OpenCost) would otherwise each split its lines: weights of two kinds added up, every estimate counted twice.
    Returns each other export's key -> the key that counts."""
    by_cluster: dict[tuple[str | None, date | None], list[ObjectInfo]] = {}
    for info in objects:
        parsed = layout.parse(info.key)
        by_cluster.setdefault((parsed.cluster, parsed.day), []).append(info)
    out: dict[str, str] = {}
    for found in by_cluster.values():
        newest = max(found, key=lambda i: (i.modified, i.key))
        out |= {info.key: newest.key for info in found if info.key != newest.key}
    return out


_COSTS: tuple[str, ...] = ("cpu_cost", "ram_cost", "gpu_cost", "pv_cost", "network_cost", "load_balancer_cost")
_COSTS += ("shared_cost", "external_cost", "total_cost")
# columns the split and the invariants read: a file without one of them (renamed, dropped) would merge its
# cluster with nulls (a null namespace, unmounted cost moved to __shared__); other columns came in later versions
_IDENTITY = ("node", "provider_id", "namespace", "controller_kind", "controller", "pod", "container", "labels")
REQUIRED = frozenset((*_IDENTITY, "cpu_core_hours", "ram_byte_hours", *_COSTS))
_MONEY = (*_COSTS, "cpu_core_hours", "ram_byte_hours", "gpu_hours", "minutes", "fraction")  # finite or rejected
# The largest size of each number of an export: a cost as on the bill (MAX_ABS_COST), a usage where no sum of a day's
# rows can overflow. A finite 1e308 is no cost or usage of a real cluster, and the split adds a day's numbers up:
# the sum overflows to inf, every ratio of its lines turns NaN, and the whole day fails its checks with every other
# cluster's export. Rejected here, the export is named by row and column and the day merges without it.
_LARGEST = {name: MAX_ABS_COST if name in _COSTS else 1e200 for name in _MONEY}
_WINDOW = ("window_start", "window_end")


def _compatible(found: pa.DataType, target: pa.DataType) -> bool:
    """A type that reads as `target` without a value-dependent cast (a text cost would fail row by row)."""
    if found == target or pa.types.is_null(found):
        return True
    if pa.types.is_dictionary(found):
        return _compatible(found.value_type, target)
    if pa.types.is_floating(target):
        return _is_number(found)
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return bool(pa.types.is_string(found) or pa.types.is_large_string(found))
    if pa.types.is_timestamp(target):
        return bool(pa.types.is_timestamp(found))
    try:
        pa.array([], type=found).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def check_schema(schema: pa.Schema, *, what: str) -> None:
    """Raise InputError naming the column when `schema` cannot be read as ALLOCATION (by column name and type)."""
    for target in ALLOCATION:
        index = schema.get_field_index(target.name)
        if index < 0:
            if not target.nullable or target.name in REQUIRED:
                raise InputError(
                    f"{what}: missing column {target.name!r} ({target.type}); this export was written by an "
                    "incompatible version — re-export the day"
                )
            continue
        found = schema.field(index).type
        if not _compatible(found, target.type):
            raise InputError(
                f"{what}: column {target.name!r} is {found}, expected {target.type}; this export was written by "
                "an incompatible version — re-export the day"
            )


def check_file(path: str, *, what: str, day: date | None = None) -> None:
    """Raise InputError naming the file, row and column when a local copy of an allocation export cannot be
    merged: not Parquet, truncated, off the ALLOCATION schema, without a row (kubebill's exports refuse to write
    an empty day: an empty file is a failed export, and would leave the cluster's lines unallocated), a number in
    a cost or usage column that is not finite or beyond its size (`_LARGEST`), or a window that is blank, ends
    before it starts, or lies outside `day` (the day its key names)."""
    import math

    import pyarrow.compute as pc

    offset = 0
    try:
        schema = pq.read_schema(path)
        check_schema(schema, what=what)
        # only a floating-point column can hold a NaN or an infinity (an integer or decimal is finite as a double)
        names = [n for n in _MONEY if n in schema.names and pa.types.is_floating(schema.field(n).type)]
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64 * 1024, columns=[*_WINDOW, *names]):
            _check_windows(batch, what=what, offset=offset, day=day)
            for name in names:
                column = pc.cast(batch.column(name), pa.float64())
                largest = _LARGEST[name]
                total = pc.sum(pc.abs(column)).as_py()
                if total is None or total <= largest:
                    continue  # one pass: a sum of sizes within the bound holds no NaN, infinity or huge value
                bad = pc.fill_null(pc.invert(pc.less_equal(pc.abs(column), largest)), False)
                if pc.any(bad).as_py():
                    row = pc.index(bad, True).as_py()
                    value = column[row].as_py()
                    if math.isfinite(value):
                        expected = f"expected a number of at most ±{largest:g}, found {value!r}"
                    else:
                        expected = f"expected a finite number, found {'NaN' if math.isnan(value) else repr(value)}"
                    raise InputError(f"{what}: row {offset + row} column {name!r}: {expected}")
            offset += batch.num_rows
        if offset == 0:
            raise InputError(
                f"{what}: no allocation rows; an export of a day holds its nodes' rows at least (kubebill's exports "
                "never write an empty day) — re-export the day"
            )
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{what}: not a readable Parquet allocation export ({exc})") from None


def _check_windows(batch: pa.RecordBatch, *, what: str, offset: int, day: date | None) -> None:
    """A row's window must be there, end at or after its start, and overlap `day`: a window outside it (an export
    of another day under this day's key) or backwards overlaps no bill line of the day, and the cluster's money went
    to its nodes' idle as if no pod had run."""
    import pyarrow.compute as pc

    utc = pa.timestamp("us", tz="UTC")
    starts, ends = (pc.cast(batch.column(name), utc) for name in _WINDOW)
    checks = [
        ("window_start", pc.is_null(starts), "expected the start of the allocation window, found a blank"),
        ("window_end", pc.is_null(ends), "expected the end of the allocation window, found a blank"),
        ("window_end", pc.less(ends, starts), "expected the end of the allocation window at or after its start"),
    ]
    if day is not None:
        first = datetime(day.year, day.month, day.day, tzinfo=UTC)
        # a zero-length window is at its start: one at the day's first instant is in the day
        before = pc.or_(pc.less(ends, first), pc.and_(pc.equal(ends, first), pc.less(starts, ends)))
        outside = pc.or_(pc.greater_equal(starts, first + timedelta(days=1)), before)
        checks.append(("window_start", outside, f"expected a window overlapping {day.isoformat()}, the day of its key"))
    for column, bad, expected in checks:
        bad = pc.fill_null(bad, False)
        if pc.any(bad).as_py():
            row = pc.index(bad, True).as_py()
            start, end = starts[row].as_py(), ends[row].as_py()
            found = "" if start is None or end is None else f", found {start.isoformat()} .. {end.isoformat()}"
            raise InputError(f"{what}: row {offset + row} column {column!r}: {expected}{found}")


def _is_number(type_: pa.DataType) -> bool:
    return bool(pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_))


def read_day(
    store: Store,
    layout: Layout,
    objects: Iterable[ObjectInfo],
    *,
    day: date,
    workdir: str,
    checked: dict[str, tuple[str, str]] | None = None,
) -> DayAllocations:
    """Copy the day's exports into `workdir`, check each schema, and return them as one ALLOCATION dataset.

    `checked` (key -> (etag, local file)) holds copies this merge already checked: one at the same etag is moved
    here (taken out of `checked`) instead of copied and checked again."""
    result = DayAllocations(day)
    paths = []
    for number, info in enumerate(sorted(objects, key=lambda i: i.key)):
        parsed = layout.parse(info.key)
        path = os.path.join(workdir, f"allocation-{number:05d}.parquet")
        etag, copy = checked.pop(info.key, ("", "")) if checked is not None else ("", "")
        if copy and etag == info.etag:
            os.replace(copy, path)
        else:
            if copy:
                os.remove(copy)  # checked at an older etag
            with store.open(info.key) as src, open(path, "wb") as dst:
                copy_stream(src, dst)
            check_file(path, what=info.key, day=day)
        paths.append(path)
        result.objects.append(info)
        if parsed.cluster and parsed.source:
            result.keys[(parsed.cluster, parsed.source)] = info.key
    if paths:
        result.dataset = ds.dataset(paths, schema=ALLOCATION, format="parquet")
    return result
