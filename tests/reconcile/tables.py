"""Hand-built ALLOCATION and COST tables for the reconcile tests (conformed to the declared schemas)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from kubebill.schema import ALLOCATION, COST, conform

DAY = datetime(2025, 6, 17, tzinfo=UTC)


def hour(h: int) -> datetime:
    return DAY + timedelta(hours=h)


def alloc_row(
    *,
    node: str = "n1",
    provider_id: str | None = "aws:///us-east-1a/i-0001",
    namespace: str = "web",
    pod: str | None = None,
    container: str | None = "app",
    start: int = 0,
    hours: int = 1,
    cpu: float = 1.0,
    ram: float = 0.5,
    gpu: float = 0.0,
    cluster: str = "c1",
    source: str = "opencost",
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "window_start": hour(start),
        "window_end": hour(start + hours),
        "cluster": cluster,
        "node": node,
        "provider_id": provider_id,
        "namespace": namespace,
        "controller_kind": "deployment" if not namespace.startswith("__") else None,
        "controller": f"{namespace}-ctl" if not namespace.startswith("__") else None,
        "pod": pod or (f"{namespace}-pod" if not namespace.startswith("__") else namespace),
        "container": container if not namespace.startswith("__") else namespace,
        "labels": "{}",
        "source": source,
        "minutes": 60.0 * hours,
        "cpu_cost": cpu,
        "ram_cost": ram,
        "gpu_cost": gpu,
        "cpu_core_hours": cpu * hours,
        "ram_byte_hours": ram * hours * 2**30,
        "total_cost": cpu + ram + gpu,
    }
    row.update(extra)
    return row


def idle_row(**kw: Any) -> dict[str, Any]:
    return alloc_row(namespace="__idle__", **kw)


def allocation(rows: Iterable[dict[str, Any]]) -> pa.Table:
    rows = list(rows)
    if not rows:
        return ALLOCATION.empty_table()
    columns = {name: [r.get(name) for r in rows] for name in ALLOCATION.names}
    return conform(pa.Table.from_pydict(columns, schema=ALLOCATION), ALLOCATION)


def line(
    key: str | None,
    cost: float,
    *,
    start: int = 0,
    hours: int = 1,
    currency: str = "USD",
    hint: str | None = None,
    effective: float | None = None,
    list_cost: float | None = None,
    row: int | None = None,
    source_key: str = "billing/aws/bill.csv",
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ChargePeriodStart": hour(start),
        "ChargePeriodEnd": hour(start + hours),
        "ProviderName": "AWS",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "ServiceCategory": "Compute",
        "ResourceId": key,
        "ChargeCategory": "Usage",
        "BillingCurrency": currency,
        "BilledCost": cost,
        "EffectiveCost": cost if effective is None else effective,
        "ListCost": cost if list_cost is None else list_cost,
        "ContractedCost": cost,
        "ConsumedQuantity": 1.0 * hours,
        "x_ResourceKey": key,
        "x_ClusterHint": hint,
        "x_SourceKey": source_key,
        "x_SourceRowId": row,
    }
    out.update(extra)
    return out


def cost(lines: Iterable[dict[str, Any]]) -> pa.Table:
    lines = list(lines)
    for i, item in enumerate(lines):
        if item["x_SourceRowId"] is None:
            item["x_SourceRowId"] = i
    if not lines:
        return COST.empty_table()
    columns = {name: [r.get(name) for r in lines] for name in COST.names}
    return conform(pa.Table.from_pydict(columns, schema=COST), COST)


def split_passed_lines(*, lid_shift: int = 0) -> str:
    """SQL that breaks a reconciled day on purpose: each passed line also given one split row in `result_rows`, its
    line id shifted by `lid_shift` (0: a line written twice; else rows of no line of the day)."""
    return (
        f"INSERT INTO result_rows SELECT lid + {int(lid_shift)}, 0, 'other', 'not_kubernetes', NULL, false, 1.0,"
        " NULL, NULL, NULL, NULL, NULL, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost,"
        " ConsumedQuantity FROM passed_lines"
    )
