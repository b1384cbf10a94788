"""Reading (and, in the merge, writing) the consolidated results at the layout's keys."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.layout import Kind, Layout
from kubebill.schema import RESULT, conform
from kubebill.store.base import ObjectInfo, Store


def result_objects(store: Store, layout: Layout) -> dict[date, ObjectInfo]:
    """Every day that has a result, with its object's metadata (etag = the day's version)."""
    found: dict[date, ObjectInfo] = {}
    for info in store.list(layout.results_parquet_root()):
        parsed = layout.parse(info.key)
        if parsed.kind is Kind.RESULT and parsed.day is not None:
            found[parsed.day] = info
    return dict(sorted(found.items()))


def available_days(store: Store, layout: Layout) -> list[date]:
    return list(result_objects(store, layout))


def read_day(store: Store, layout: Layout, day: date) -> pa.Table:
    """One day's result rows in the RESULT schema; FileNotFoundError if the day was never merged."""
    table = pq.read_table(io.BytesIO(store.read_bytes(layout.result_parquet_key(day))))
    return conform(table, RESULT)


def read_days(store: Store, layout: Layout, days: Iterable[date]) -> pa.Table:
    """The result rows of every given day that has a result (days without one are left out)."""
    present = result_objects(store, layout)
    tables = [read_day(store, layout, day) for day in sorted(set(days)) if day in present]
    return pa.concat_tables(tables) if tables else RESULT.empty_table()
