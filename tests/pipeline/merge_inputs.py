"""A local store with one cluster's allocation export and a FOCUS bill, for the merge tests."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.layout import Layout
from kubebill.store.local import LocalStore
from tests.reconcile.tables import alloc_row, allocation, idle_row

LAYOUT = Layout()
DAY = date(2025, 6, 17)
FOCUS_HEADER = [
    "BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "ServiceName", "ServiceCategory",
    "ResourceId", "ChargeCategory", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
    "Tags",
]  # fmt: skip


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def focus_csv(lines: list[tuple[str, float, int]], *, day: date = DAY, tags: str = "") -> bytes:
    """FOCUS rows (resource id, billed cost, hour) of one day, AWS."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FOCUS_HEADER)
    for resource, cost, hour in lines:
        start = f"{day.isoformat()}T{hour:02d}:00:00Z"
        end = f"{day.isoformat()}T{hour + 1:02d}:00:00Z" if hour < 23 else f"{day.isoformat()}T23:59:59Z"
        writer.writerow(
            [f"{day:%Y-%m}-01T00:00:00Z", start, end, "AWS", "Amazon Elastic Compute Cloud", "Compute", resource,
             "Usage", "USD", cost, cost * 0.8, cost * 1.2, cost, tags]
        )  # fmt: skip
    return out.getvalue().encode()


def make_store(root: Path, *, bill: bool = True) -> LocalStore:
    store = LocalStore(root)
    rows = [alloc_row(namespace="web", start=h, cpu=1, ram=1) for h in range(24)]
    rows += [alloc_row(namespace="db", start=h, cpu=2, ram=0) for h in range(24)]
    rows += [idle_row(start=h, cpu=0.5, ram=0.5) for h in range(24)]
    store.write(LAYOUT.allocation_key("c1", DAY, "opencost"), parquet_bytes(allocation(rows)))
    if bill:
        lines = [("arn:aws:ec2:us-east-1:1:instance/i-0001", 0.5, h) for h in range(24)] + [("bucket-1", 3.0, 5)]
        store.write("billing/focus/2025-06.csv", focus_csv(lines))
    return store
