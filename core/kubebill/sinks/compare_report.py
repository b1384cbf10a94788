"""`kubebill report --compare cloud`: the merge's cross-checks (reconcile.compare) of the allocation export against
the cloud's own split, per namespace and day, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill import figures
from kubebill.layout import Layout
from kubebill.reconcile.compare import COMPARE
from kubebill.sinks import csvsafe
from kubebill.store import Store

HEADER = ("day", "cluster", "namespace", "currency", "kubebill", "cloud", "difference", "difference_pct")


def read(store: Store, layout: Layout, days: Iterable[date]) -> pa.Table:
    """The cross-checks of `days` (days without one have none: no export and cloud split met there)."""
    tables = []
    for day in days:
        try:
            data = store.read_bytes(layout.compare_key(day))
        except FileNotFoundError:
            continue
        tables.append(pq.read_table(pa.BufferReader(data)).cast(COMPARE))
    return pa.concat_tables(tables) if tables else COMPARE.empty_table()


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """One tuple per namespace and day, money rounded to the currency's minor unit, the difference in %."""
    out = []
    for r in table.to_pylist():
        currency = r["BillingCurrency"] or ""
        ratio = r["difference_ratio"]
        out.append(
            (
                r["day"].isoformat(),
                r["cluster"],
                r["namespace"] if r["namespace"] is not None else "(system)",
                currency,
                figures.money(r["kubebill_cost"], currency),
                figures.money(r["cloud_cost"], currency),
                figures.money(r["difference"], currency),
                None if ratio is None else round(ratio * 100, 2) + 0.0,
            )
        )
    return out


def format_table(table: pa.Table, *, title: str) -> str:
    found = [tuple("" if v is None else str(v) for v in row) for row in rows(table)]
    if not found:
        return f"{title}\nno day of the window has both an allocation export and the cloud's split of a cluster\n"
    widths = [max(len(h), *(len(r[i]) for r in found)) for i, h in enumerate(HEADER)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
    for r in found:
        lines.append(
            "  ".join(v.rjust(w) if i >= 4 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(lines) + "\n"


def format_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows(table):
        writer.writerow([csvsafe.cell(v) for v in r])
    return buffer.getvalue()


def format_json(table: pa.Table, *, window: str) -> str:
    items = [dict(zip(HEADER, [*r[:4], str(r[4]), str(r[5]), str(r[6]), r[7]], strict=True)) for r in rows(table)]
    return json.dumps({"compare": "cloud", "window": window, "rows": items}, indent=1) + "\n"
