"""Σ per object, day and currency of each cost column, taken from COST batches as they are read."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.billing.common import split_children
from kubebill.ledger.record import Totals
from kubebill.schema import COST_COLUMNS


def add(
    into: dict[str, Totals],
    rows: dict[str, int],
    batch: pa.RecordBatch | pa.Table,
    *,
    charges: dict[tuple[str, str, str], int] | None = None,
    days: set[date] | None = None,
    starts: pa.ChunkedArray | pa.Array | None = None,
) -> None:
    """Add a COST batch's lines to `into[key][day][currency][column]` and `rows[key]` (key = x_SourceKey), and
    when given, its lines per (BillingAccountId, SubAccountId, ISO day) to `charges` (an absent id as "") and the
    days its lines start on to `days`:
    all from one grouping of the batch. `starts` is its ChargePeriodStart as date32 when the caller has it."""
    children = split_children(batch)
    if pc.any(children).as_py():  # a cloud's split row is no bill line: its parent line is the money
        keep = pc.invert(children)
        batch = batch.filter(keep)
        starts = starts.filter(keep) if starts is not None else None
    if batch.num_rows == 0:
        return
    columns = {
        "k": batch.column("x_SourceKey"),
        "d": starts if starts is not None else pc.cast(batch.column("ChargePeriodStart"), pa.date32()),
        "c": pc.fill_null(batch.column("BillingCurrency"), ""),
        **{name: batch.column(name) for name in COST_COLUMNS},
    }
    keys = ["k", "d", "c"]
    if charges is not None:
        for key, name in (("a", "BillingAccountId"), ("s", "SubAccountId")):
            column = batch.column(name)
            if column.null_count < batch.num_rows:  # a column of nulls would only slow the grouping down
                columns[key] = column
                keys.append(key)
    grouped = pa.table(columns).group_by(keys).aggregate([(name, "sum") for name in COST_COLUMNS] + [("k", "count")])
    for row in grouped.to_pylist():
        key, day, count = str(row["k"]), row["d"], int(row["k_count"])
        rows[key] = rows.get(key, 0) + count
        if day is None:
            continue
        if days is not None:
            days.add(day)
        if charges is not None:
            charge = (str(row.get("a") or ""), str(row.get("s") or ""), day.isoformat())
            charges[charge] = charges.get(charge, 0) + count
        totals = into.setdefault(key, {}).setdefault(day.isoformat(), {}).setdefault(str(row["c"]), {})
        for name in COST_COLUMNS:
            value = row[f"{name}_sum"]
            if value is not None:
                totals[name] = totals.get(name, 0.0) + float(value)
