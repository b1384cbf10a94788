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
from datetime import date

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kubebill.errors import InputError
from kubebill.layout import Kind, Layout
from kubebill.schema import ALLOCATION
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


def check_schema(schema: pa.Schema, *, what: str) -> None:
    """Raise InputError naming the column when `schema` cannot be read as ALLOCATION."""
    for target in ALLOCATION:
        index = schema.get_field_index(target.name)
        if index < 0:
            if not target.nullable:
                raise InputError(
                    f"{what}: missing column {target.name!r} ({target.type}); this export was written by an "
                    "incompatible version — re-export the day"
                )
            continue
        found = schema.field(index).type
        if found == target.type or pa.types.is_null(found):
            continue
        try:
            pa.array([], type=found).cast(target.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(
                f"{what}: column {target.name!r} is {found}, expected {target.type}; this export was written by "
                "an incompatible version — re-export the day"
            ) from None


def read_day(store: Store, layout: Layout, objects: Iterable[ObjectInfo], *, day: date, workdir: str) -> DayAllocations:
    """Copy the day's exports into `workdir`, check each schema, and return them as one ALLOCATION dataset."""
    result = DayAllocations(day)
    paths = []
    for number, info in enumerate(sorted(objects, key=lambda i: i.key)):
        parsed = layout.parse(info.key)
        path = os.path.join(workdir, f"allocation-{number:05d}.parquet")
        with store.open(info.key) as src, open(path, "wb") as dst:
            copy_stream(src, dst)
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{info.key}: not a Parquet allocation export ({exc})") from None
        check_schema(schema, what=info.key)
        paths.append(path)
        result.objects.append(info)
        if parsed.cluster and parsed.source:
            result.keys[(parsed.cluster, parsed.source)] = info.key
    if paths:
        result.dataset = ds.dataset(paths, schema=ALLOCATION, format="parquet")
    return result
