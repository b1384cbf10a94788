"""Small bill files for the ledger tests: FOCUS CSVs and AWS Data Exports (CUR 2.0) runs, and result sums."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kubebill.layout import Layout
from kubebill.sinks import results
from kubebill.store.base import Store

LAYOUT = Layout()
Line = tuple[date, float, str]  # day, BilledCost, currency
FOCUS = ["BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "ServiceName", "ResourceId",
         "ChargeCategory", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]  # fmt: skip


def focus_csv(lines: list[Line], *, text: str = "i-0001") -> bytes:
    """FOCUS lines, one per (day, cost, currency); EffectiveCost = BilledCost; `text` in ResourceId."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FOCUS)
    for day, cost, currency in lines:
        writer.writerow(
            [f"{day:%Y-%m}-01T00:00:00Z", f"{day}T05:00:00Z", f"{day}T06:00:00Z", "AWS", "EC2", text, "Usage",
             currency, repr(cost), repr(cost), repr(cost), repr(cost)]
        )  # fmt: skip
    return out.getvalue().encode()


def cur2_parquet(lines: list[Line], *, split_rows: int = 0, payer: str | None = None) -> bytes:
    """CUR 2.0 data file; `split_rows` split cost allocation child rows (cost 0) added after the lines."""
    starts = [f"{d}T05:00:00" for d, _, _ in lines] + [f"{lines[0][0]}T05:00:00"] * split_rows
    start = pa.array(starts).cast(pa.timestamp("s"))
    n = len(starts)
    table = pa.table(
        {
            "line_item_usage_start_date": start,
            "line_item_usage_end_date": pc.add(start, pa.scalar(3600, pa.duration("s"))),
            "line_item_line_item_type": ["Usage"] * n,
            "line_item_resource_id": ["i-0001"] * len(lines)
            + [f"arn:aws:eks:x:1:pod/c/ns/p{i}" for i in range(split_rows)],
            "line_item_unblended_cost": [c for _, c, _ in lines] + [0.0] * split_rows,
            "pricing_public_on_demand_cost": [c for _, c, _ in lines] + [0.0] * split_rows,
            "line_item_currency_code": [cur for _, _, cur in lines] + ["USD"] * split_rows,
            "split_line_item_parent_resource_id": [None] * len(lines) + ["i-0001"] * split_rows,
            **({"bill_payer_account_id": [payer] * n} if payer else {}),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def cur2_run(
    store: Store, export: str, period: date, lines: list[Line], *, execution: str, account: str = "111122223333",
    root: str = "billing/aws", split_rows: int = 0, payer: str | None = None,
) -> tuple[str, str]:  # fmt: skip
    """One Data Exports run: data under data/BILLING_PERIOD=…/<execution>/, then its manifest; (data key, manifest)."""
    month = f"{period:%Y-%m}"
    data = f"{root}/{export}/data/BILLING_PERIOD={month}/{execution}/{export}-00001.snappy.parquet"
    store.write(data, cur2_parquet(lines, split_rows=split_rows, payer=payer))
    end = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    manifest = {
        "executionId": execution,
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{account}:export/{export}-x",
        "exportName": export,
        "billingPeriod": {"start": f"{period}T00:00:00.000Z", "end": f"{end}T00:00:00.000Z"},
        "dataFiles": [f"s3://bucket/{data}"],
    }
    key = f"{root}/{export}/metadata/BILLING_PERIOD={month}/{export}-Manifest.json"
    store.write(key, json.dumps(manifest).encode())
    return data, key


def expected(*groups: list[Line]) -> dict[tuple[date, str], float]:
    out: dict[tuple[date, str], float] = defaultdict(float)
    for lines in groups:
        for day, cost, currency in lines:
            out[(day, currency)] += cost
    return dict(out)


def result_sums(store: Store, column: str = "BilledCost") -> dict[tuple[date, str], float]:
    """Σ `column` of every result day per (day, currency), estimates left out (they are no bill line)."""
    out: dict[tuple[date, str], float] = defaultdict(float)
    table = results.read_days(store, LAYOUT, results.available_days(store, LAYOUT))
    table = table.filter(pc.not_equal(table["x_K8sAllocation"], "estimated"))
    for row in table.group_by(["ChargePeriodStart", "BillingCurrency"]).aggregate([(column, "sum")]).to_pylist():
        out[(row["ChargePeriodStart"].date(), row["BillingCurrency"])] += row[f"{column}_sum"]
    return {k: v for k, v in out.items() if v}


def assert_sums(store: Store, want: dict[tuple[date, str], float]) -> None:
    got = result_sums(store)
    assert set(got) == {k for k, v in want.items() if v}, (got, want)
    for key, value in want.items():
        if value:
            assert abs(got[key] - value) <= 1e-9 * abs(value) + 1e-9, (key, got[key], value)
