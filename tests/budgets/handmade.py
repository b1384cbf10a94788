"""A handmade result day with rows a policy moved, per the contract: x_K8sNamespace = the receiver,
x_K8sAllocation = the origin bucket (idle, shared, external); own rows are workload or estimated."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.layout import Layout
from kubebill.schema import RESULT, conform
from kubebill.store.base import Store

DAY = date(2025, 6, 17)
CLUSTER = "prod-eks"
# (namespace, allocation, billed) for each of the 24 hours; effective = billed, list = 2 × billed
ROWS: list[tuple[str | None, str, float]] = [
    ("checkout", "workload", 0.50),
    ("checkout", "idle", 0.10),  # received: its share of a node's idle
    ("checkout", "shared", 0.05),  # received: the control plane spread over the namespaces
    ("checkout", "external", 0.20),  # received: an RDS database tagged team=checkout
    ("search", "workload", 0.30),
    ("search", "estimated", 0.00),  # list price only: no bill yet
    ("search", "idle", 0.04),
    ("__idle__", "idle", 0.25),  # idle nobody received: the bucket's own cost
    ("__shared__", "shared", 0.15),
    (None, "not_kubernetes", 0.40),  # outside every cluster
]
# per hour: own cost and what was received, by namespace (billed)
OWN = {"checkout": 0.50, "search": 0.30, "__idle__": 0.25, "__shared__": 0.15, "__not_kubernetes__": 0.40}
RECEIVED = {"checkout": {"idle": 0.10, "shared": 0.05, "external": 0.20}, "search": {"idle": 0.04}}
LABELS = {"checkout": {"kubebill_io_monthly_budget": "300", "team": "shop"}, "search": {"team": "discovery"}}


def result_table(day: date = DAY, *, currency: str = "USD") -> pa.Table:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for hour in range(24):
        for index, (namespace, allocation, billed) in enumerate(ROWS):
            in_cluster = namespace is not None
            labels = LABELS.get(namespace or "")
            rows.append(
                {
                    "ChargePeriodStart": start + timedelta(hours=hour),
                    "ChargePeriodEnd": start + timedelta(hours=hour + 1),
                    "BillingPeriodStart": start.replace(day=1),
                    "BillingCurrency": currency,
                    "ProviderName": "AWS",
                    "ServiceName": "Amazon Relational Database Service" if allocation == "external" else "Amazon EC2",
                    "PricingCategory": "Standard",
                    "BilledCost": billed,
                    "EffectiveCost": billed,
                    "ListCost": 2 * billed if allocation != "estimated" else 0.07,
                    "x_K8sCluster": CLUSTER if in_cluster else None,
                    "x_K8sNamespace": namespace,
                    "x_K8sPod": f"{namespace}-0" if namespace and not namespace.startswith("__") else namespace,
                    "x_K8sLabels": json.dumps(labels, sort_keys=True) if labels else None,
                    "x_K8sAllocation": allocation,
                    "x_K8sCostComponent": "compute",
                    "x_SourceKey": "billing/aws/x.parquet",
                    "x_SourceRowId": hour * len(ROWS) + index,
                }
            )
    return conform(pa.Table.from_pylist(rows), RESULT)


def write_day(store: Store, day: date = DAY, **options: Any) -> None:
    sink = io.BytesIO()
    pq.write_table(result_table(day, **options), sink)
    store.write(Layout().result_parquet_key(day), sink.getvalue())
