"""Σ per object, day and currency of each cost column, taken from COST batches as they are read."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import split_children
from kubebill.ledger.record import Totals
from kubebill.schema import COST_COLUMNS


def add(into: dict[str, Totals], rows: dict[str, int], batch: pa.RecordBatch | pa.Table) -> None:
    """Add a COST batch's lines to `into[key][day][currency][column]` and `rows[key]` (key = x_SourceKey)."""
    batch = batch.filter(pc.invert(split_children(batch)))  # a cloud's split row is no bill line: its parent is
    if batch.num_rows == 0:
        return
    table = pa.table(
        {
            "k": batch.column("x_SourceKey"),
            "d": pc.cast(batch.column("ChargePeriodStart"), pa.date32()),
            "c": pc.fill_null(batch.column("BillingCurrency"), ""),
            **{name: batch.column(name) for name in COST_COLUMNS},
        }
    )
    grouped = table.group_by(["k", "d", "c"]).aggregate([(name, "sum") for name in COST_COLUMNS] + [("k", "count")])
    for row in grouped.to_pylist():
        key, day = str(row["k"]), row["d"]
        rows[key] = rows.get(key, 0) + int(row["k_count"])
        if day is None:
            continue
        columns = into.setdefault(key, {}).setdefault(day.isoformat(), {}).setdefault(str(row["c"]), {})
        for name in COST_COLUMNS:
            value = row[f"{name}_sum"]
            if value is not None:
                columns[name] = columns.get(name, 0.0) + float(value)
