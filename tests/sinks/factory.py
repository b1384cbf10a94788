"""Small deterministic RESULT and ALLOCATION tables for the sink tests and the metrics benchmark.

The rows look like what the merge writes: hourly node lines split to containers (compute, with CPU/RAM/GPU
ratios), node idle, PV and load-balancer lines, a shared control-plane line, unallocated/unmounted rows and a
line outside every cluster. Costs are exact so tests can recompute sums.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.layout import Layout
from kubebill.schema import ALLOCATION, RESULT, conform
from kubebill.store.base import Store

BUDGET_LABEL = "kubebill.io/monthly-budget"


@dataclass(frozen=True)
class Shape:
    """What one cluster-day looks like."""

    cluster: str = "prod-eks"
    namespaces: tuple[str, ...] = ("checkout", "search", "batch")
    pods_per_namespace: int = 3
    nodes: int = 2
    hours: int = 24
    currency: str = "USD"
    pod_hourly_billed: float = 0.10
    node_idle_hourly_billed: float = 0.20
    budgets: dict[str, float] = field(default_factory=lambda: {"checkout": 1.0})


def pod_name(namespace: str, index: int) -> str:
    return f"{namespace}-api-7d9f8-{index:05d}"


def _pricing(node_index: int) -> str:
    return ("Dynamic", "Committed", "Standard")[node_index % 3]


def result_rows(day: date, shape: Shape) -> list[dict[str, Any]]:
    """The rows of one cluster-day (plus one line outside the cluster)."""
    rows: list[dict[str, Any]] = []
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    base = {
        "BillingPeriodStart": start.replace(day=1),
        "BillingAccountId": "123456789012",
        "SubAccountId": "210987654321",
        "ProviderName": "AWS",
        "RegionId": "eu-west-1",
        "ChargeCategory": "Usage",
        "BillingCurrency": shape.currency,
        "x_K8sCluster": shape.cluster,
        "x_SourceKey": f"billing/aws/{day.isoformat()}.csv",
    }
    row_id = 0

    def add(hour: int, billed: float, **fields: Any) -> None:
        nonlocal row_id
        pricing = fields.pop("pricing", "Standard")
        effective = billed * (0.9 if pricing == "Committed" else 1.0)
        list_cost = billed * (3.0 if pricing == "Dynamic" else 1.25 if pricing == "Committed" else 1.0)
        rows.append(
            {
                **base,
                "ChargePeriodStart": start + timedelta(hours=hour),
                "ChargePeriodEnd": start + timedelta(hours=hour + 1),
                "PricingCategory": pricing,
                "BilledCost": billed,
                "EffectiveCost": effective,
                "ListCost": list_cost,
                "ContractedCost": effective,
                "AllocatedMethodId": "opencost-list-cost",
                "x_SourceRowId": row_id,
                **fields,
            }
        )
        row_id += 1

    for hour in range(shape.hours):
        for node_index in range(shape.nodes):
            node = f"ip-10-0-{node_index}-1.eu-west-1.compute.internal"
            node_fields = {
                "x_K8sNode": node,
                "ResourceId": f"i-0{node_index:015x}",
                "ServiceName": "Amazon Elastic Compute Cloud",
                "ServiceCategory": "Compute",
                "pricing": _pricing(node_index),
                "x_K8sCostComponent": "compute",
            }
            add(
                hour,
                shape.node_idle_hourly_billed,
                **node_fields,
                x_K8sNamespace="__idle__",
                x_K8sPod="__idle__",
                x_K8sContainer="__idle__",
                x_K8sAllocation="idle",
                x_K8sCpuRatio=0.5,
                x_K8sRamRatio=0.5,
                x_K8sGpuRatio=0.0,
            )
            for ns_index, namespace in enumerate(shape.namespaces):
                budget = shape.budgets.get(namespace)
                for pod_index in range(shape.pods_per_namespace):
                    if (ns_index * shape.pods_per_namespace + pod_index) % shape.nodes != node_index:
                        continue
                    pod = pod_name(namespace, pod_index)
                    labels = {"app": f"{namespace}-api", "team": f"team-{ns_index % 2}"}
                    if budget is not None:
                        labels[BUDGET_LABEL] = str(budget)
                    add(
                        hour,
                        shape.pod_hourly_billed * (1 + pod_index % 4),
                        **node_fields,
                        x_K8sNamespace=namespace,
                        x_K8sControllerKind="deployment",
                        x_K8sController=f"{namespace}-api",
                        x_K8sPod=pod,
                        x_K8sContainer="app",
                        x_K8sLabels=json.dumps(labels),
                        AllocatedResourceName=pod,
                        x_K8sAllocation="workload",
                        x_K8sCpuRatio=0.6,
                        x_K8sRamRatio=0.3,
                        x_K8sGpuRatio=0.1 if pod_index == 0 else 0.0,
                    )
        # one volume of the first namespace's first pod, one unmounted volume, one load balancer, NAT network
        first_ns = shape.namespaces[0]
        storage = {"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Storage"}
        add(
            hour,
            0.01,
            **storage,
            ResourceId="vol-0abc",
            ResourceName="pvc-data-0",
            x_K8sNamespace=first_ns,
            x_K8sPod=pod_name(first_ns, 0),
            x_K8sContainer="app",
            x_K8sAllocation="workload",
            x_K8sCostComponent="pv",
        )
        add(
            hour,
            0.005,
            **storage,
            ResourceId="vol-0def",
            ResourceName="pvc-orphan",
            x_K8sNamespace="__unmounted__",
            x_K8sPod="__unmounted__",
            x_K8sAllocation="unmounted",
            x_K8sCostComponent="pv",
        )
        add(
            hour,
            0.025,
            ServiceName="Elastic Load Balancing",
            ServiceCategory="Networking",
            ResourceId="arn:aws:elasticloadbalancing:lb/web",
            x_K8sNamespace=first_ns,
            x_K8sPod=pod_name(first_ns, 0),
            x_K8sAllocation="workload",
            x_K8sCostComponent="load_balancer",
        )
        add(
            hour,
            0.045,
            ServiceName="Amazon Virtual Private Cloud",
            ServiceCategory="Networking",
            ResourceId="nat-0123",
            x_K8sNamespace="__shared__",
            x_K8sPod="__shared__",
            x_K8sAllocation="shared",
            x_K8sCostComponent="network",
        )
        add(
            hour,
            0.10,
            ServiceName="Amazon Elastic Kubernetes Service",
            ServiceCategory="Compute",
            ResourceId=f"arn:aws:eks:cluster/{shape.cluster}",
            x_K8sNamespace="__shared__",
            x_K8sPod="__shared__",
            x_K8sAllocation="shared",
            x_K8sCostComponent="shared",
        )
        add(
            hour,
            0.015,
            ServiceName="Amazon Elastic Compute Cloud",
            ServiceCategory="Compute",
            ResourceId="i-0unallocated",
            x_K8sNamespace="__unallocated__",
            x_K8sPod="__unallocated__",
            x_K8sAllocation="unallocated",
            x_K8sCostComponent="compute",
            x_K8sCpuRatio=0.5,
            x_K8sRamRatio=0.5,
            x_K8sGpuRatio=0.0,
        )
    add(
        0,
        1.5,
        ServiceName="Amazon Simple Storage Service",
        ServiceCategory="Storage",
        ResourceId="my-bucket",
        x_K8sCluster=None,
        x_K8sAllocation="not_kubernetes",
        x_K8sCostComponent="other",
    )
    return rows


def result_table(day: date, *shapes: Shape) -> pa.Table:
    """A RESULT table for one day of the given clusters (default: one small cluster)."""
    rows = [row for shape in shapes or (Shape(),) for row in result_rows(day, shape)]
    return pa.Table.from_pylist([{name: row.get(name) for name in RESULT.names} for row in rows], schema=RESULT)


def allocation_table(day: date, shape: Shape) -> pa.Table:
    """The ALLOCATION rows of one cluster-day: one row per pod (a daily step) with requests and usage."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = []
    for ns_index, namespace in enumerate(shape.namespaces):
        for pod_index in range(shape.pods_per_namespace):
            rows.append(
                {
                    "window_start": start,
                    "window_end": start + timedelta(hours=shape.hours),
                    "cluster": shape.cluster,
                    "namespace": namespace,
                    "pod": pod_name(namespace, pod_index),
                    "container": "app",
                    "source": "opencost",
                    "minutes": 60.0 * shape.hours,
                    "cpu_core_request_average": 1.0,
                    "cpu_core_usage_average": 0.25 * (1 + ns_index % 3),
                    "ram_byte_request_average": 2.0**30,
                    "ram_byte_usage_average": 2.0**29,
                    "cpu_cost": 1.0,
                    "ram_cost": 1.0,
                    "total_cost": 2.0,
                }
            )
    return conform(pa.Table.from_pylist(rows), ALLOCATION)


def write_parquet(store: Store, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    store.write(key, sink.getvalue())


def fill_store(store: Store, days: list[date], *shapes: Shape, allocations: bool = True) -> None:
    """Write one result per day (and each cluster's allocations) at the layout's keys."""
    layout = Layout()
    shapes = shapes or (Shape(),)
    for day in days:
        write_parquet(store, layout.result_parquet_key(day), result_table(day, *shapes))
        if allocations:
            for shape in shapes:
                write_parquet(
                    store, layout.allocation_key(shape.cluster, day, "opencost"), allocation_table(day, shape)
                )
