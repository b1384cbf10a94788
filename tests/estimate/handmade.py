"""A handmade store whose unit prices are known: allocation exports and results written by hand for one day.

Cluster `c1` (AWS), day 2025-06-01, two nodes:
- n1 (m5.xlarge): pod `web-1` of Deployment `web` in `shop`, 2 cores and 4 GiB requested and allocated all day;
  CPU at 0.05 effective / 0.10 list per core-hour, RAM at 0.01 / 0.02 per GiB-hour; it mounts a 100 GiB PV
  (0.08 / 0.10 per GiB-month) and sits behind a load balancer (0.025 / 0.03 per hour);
- n2 (c5.large): pod `train-1` of Job `train` in `ml`, 1 core, 2 GiB, 1 GPU: CPU 0.02 / 0.04, RAM 0.004 / 0.008,
  GPU 1.5 / 3.0 per hour (a node's rows share one effective ÷ list ratio, as the merge splits them); its
  container used twice its CPU request (allocated 2 cores);
- the nodes' idle: 3.0 effective, 4.0 list.
Every cost arrives in 24 hourly bill lines, so no price rests on too little data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.layout import Layout
from kubebill.schema import ALLOCATION, RESULT, conform

DAY = date(2025, 6, 1)
GIB = 1024**3
START = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Known:
    cpu: tuple[float, float] = (0.05, 0.10)  # n1, effective and list per core-hour
    ram: tuple[float, float] = (0.01, 0.02)  # n1, per GiB-hour
    cpu2: tuple[float, float] = (0.02, 0.04)  # n2
    ram2: tuple[float, float] = (0.004, 0.008)
    gpu: tuple[float, float] = (1.5, 3.0)
    pv: tuple[float, float] = (0.08, 0.10)  # per GiB-month
    lb: tuple[float, float] = (0.025, 0.03)  # per hour
    idle: tuple[float, float] = (3.0, 4.0)


KNOWN = Known()


def _alloc_row(
    node: str, ns: str, pod: str, cpu: float, cpu_req: float, ram: float, gpu: float, **extra: object
) -> dict[str, object]:
    return {
        "window_start": START,
        "window_end": START + timedelta(days=1),
        "cluster": "c1",
        "node": node,
        "namespace": ns,
        "pod": pod,
        "container": "main",
        "source": "opencost",
        "minutes": 1440.0,
        "cpu_core_hours": cpu * 24,
        "cpu_core_request_average": cpu_req,
        "ram_byte_hours": ram * GIB * 24,
        "ram_byte_request_average": ram * GIB,
        "gpu_hours": gpu * 24,
        **extra,
    }


def allocations() -> pa.Table:
    rows = [
        _alloc_row(
            "n1",
            "shop",
            "web-1",
            2,
            2,
            4,
            0,
            controller_kind="deployment",
            controller="web",
            pvs=[{"name": "pv-1", "provider_id": "vol-1", "byte_hours": 100.0 * GIB * 24, "cost": 1.0}],
            load_balancers=[{"service": "shop/web", "provider_id": "lb-1", "hours": 24.0, "cost": 1.0}],
        ),
        _alloc_row("n2", "ml", "train-1", 2, 1, 2, 1, controller_kind="job", controller="train"),
        _alloc_row("n1", "__idle__", "__idle__", 0, 0, 0, 0),
    ]
    return _table(rows, ALLOCATION)


def _results() -> pa.Table:
    k = KNOWN
    rows: list[dict[str, object]] = []

    def lines(base: dict[str, object], effective: float, listed: float, first_row: int) -> None:
        for hour in range(24):
            rows.append(
                {
                    **base,
                    "ChargePeriodStart": START + timedelta(hours=hour),
                    "ChargePeriodEnd": START + timedelta(hours=hour + 1),
                    "BillingCurrency": "USD",
                    "ProviderName": "AWS",
                    "EffectiveCost": effective / 24,
                    "ListCost": listed / 24,
                    "BilledCost": effective / 24,
                    "x_K8sCluster": "c1",
                    "x_SourceKey": "billing/aws/cur.parquet",
                    "x_SourceRowId": first_row + hour,
                }
            )

    web = {"x_K8sNode": "n1", "x_K8sNamespace": "shop", "x_K8sPod": "web-1", "x_K8sContainer": "main"}
    web |= {"x_K8sController": "web", "x_K8sControllerKind": "deployment", "x_K8sAllocation": "workload"}
    cpu_e, cpu_l = 2 * 24 * k.cpu[0], 2 * 24 * k.cpu[1]
    ram_e, ram_l = 4 * 24 * k.ram[0], 4 * 24 * k.ram[1]
    node1 = {"x_K8sCostComponent": "compute", "ResourceId": "i-1", "ResourceType": "m5.xlarge"}
    ratios = {"x_K8sCpuRatio": cpu_e / (cpu_e + ram_e), "x_K8sRamRatio": ram_e / (cpu_e + ram_e), "x_K8sGpuRatio": 0.0}
    lines({**web, **node1, **ratios}, cpu_e + ram_e, cpu_l + ram_l, 0)
    pv_months = 100 * 24 / 730
    pv = {"x_K8sCostComponent": "pv", "ResourceId": "vol-1", "SkuId": "EBS:gp3", "ChargeDescription": "gp3 storage"}
    lines({**web, **pv}, pv_months * k.pv[0], pv_months * k.pv[1], 100)
    lines({**web, "x_K8sCostComponent": "load_balancer", "ResourceId": "lb-1"}, 24 * k.lb[0], 24 * k.lb[1], 200)

    train = {"x_K8sNode": "n2", "x_K8sNamespace": "ml", "x_K8sPod": "train-1", "x_K8sContainer": "main"}
    train |= {"x_K8sController": "train", "x_K8sControllerKind": "job", "x_K8sAllocation": "workload"}
    parts = (2 * 24 * k.cpu2[0], 2 * 24 * k.ram2[0], 24 * k.gpu[0])
    listed = 2 * 24 * k.cpu2[1] + 2 * 24 * k.ram2[1] + 24 * k.gpu[1]
    node2 = {"x_K8sCostComponent": "compute", "ResourceId": "i-2", "ResourceType": "c5.large"}
    share = {"x_K8sCpuRatio": parts[0] / sum(parts), "x_K8sRamRatio": parts[1] / sum(parts)}
    share["x_K8sGpuRatio"] = parts[2] / sum(parts)
    lines({**train, **node2, **share}, sum(parts), listed, 300)

    idle = {"x_K8sNode": "n1", "x_K8sNamespace": "__idle__", "x_K8sPod": "__idle__", "x_K8sAllocation": "idle"}
    lines({**idle, **node1}, k.idle[0], k.idle[1], 400)
    # a line outside every cluster: never part of a price
    rows.append({"x_K8sAllocation": "not_kubernetes", "EffectiveCost": 99.0, "ListCost": 99.0, "x_SourceRowId": 999})
    return _table(rows, RESULT)


def _table(rows: list[dict[str, object]], schema: pa.Schema) -> pa.Table:
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {name: pa.array([row.get(name) for row in rows], schema.field(name).type) for name in names}
    return conform(pa.table(columns), schema)


def write_store(root: Path) -> Path:
    """Write the handmade allocation export and result day under the store folder `root`."""
    layout = Layout()
    for key, table in (
        (layout.allocation_key("c1", DAY, "opencost"), allocations()),
        (layout.result_parquet_key(DAY), _results()),
    ):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / key)
    return root
