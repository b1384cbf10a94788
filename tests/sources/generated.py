"""Deterministic large OpenCost `/allocation/compute` answers (container-level, idle by node, PVs, LBs).

`step_body(window, allocations=N)` is one step's JSON as OpenCost writes it (compact, keys sorted the way
Go's encoder sorts map keys); the same allocations appear in every step, like a steady cluster.
"""

from __future__ import annotations

import json
import random
from functools import cache

from kubebill.model import Window

_PLACEHOLDER_START = "1999-01-01T00:00:00Z"
_PLACEHOLDER_END = "1999-01-01T01:00:00Z"


def _allocation(rng: random.Random, i: int, node: int, start: str, end: str) -> tuple[str, dict[str, object]]:
    namespace = f"team-{i % 40:02d}"
    controller = f"app-{i // 4:05d}"
    pod = f"{controller}-{rng.randrange(16**8):08x}-{rng.randrange(36**5):05d}"
    container = f"c{i % 4}"
    node_name = f"ip-10-0-{node // 250}-{node % 250}.ec2.internal"
    name = f"cluster-one/{node_name}/{namespace}/deployment/{controller}/{pod}/{container}"
    cpu_cost = rng.random() * 0.01
    ram_cost = rng.random() * 0.005
    pvs = None
    pv_cost = 0.0
    if i % 10 == 0:
        pv_cost = rng.random() * 0.001
        pvs = {
            f"cluster=cluster-one:name=pvc-{i:08d}": {
                "byteHours": 1073741824.0,
                "cost": pv_cost,
                "providerID": f"vol-{i:017x}",
            }
        }
    lbs = None
    lb_cost = 0.0
    if i % 50 == 0:
        lb_cost = 0.025
        lbs = {
            f"{namespace}/{controller}": {
                "service": f"{namespace}/{controller}",
                "cost": lb_cost,
                "private": False,
                "ip": f"203.0.113.{i % 250}",
            }
        }
    labels = {
        "app": controller,
        "app_kubernetes_io_name": controller,
        "app_kubernetes_io_instance": f"{controller}-prod",
        "pod_template_hash": f"{rng.randrange(16**10):010x}",
        "team": namespace,
        "tier": ("web", "worker", "batch")[i % 3],
        "node_kubernetes_io_instance_type": "m5.xlarge",
        "topology_kubernetes_io_zone": f"us-east-1{'abc'[node % 3]}",
    }
    total = cpu_cost + ram_cost + pv_cost + lb_cost
    return name, {
        "name": name,
        "properties": {
            "cluster": "cluster-one",
            "node": node_name,
            "container": container,
            "controller": controller,
            "controllerKind": "deployment",
            "namespace": namespace,
            "pod": pod,
            "providerID": f"aws:///us-east-1{'abc'[node % 3]}/i-{node:017x}",
            "labels": labels,
            "namespaceLabels": {"kubernetes_io_metadata_name": namespace},
        },
        "window": {"start": start, "end": end},
        "start": start,
        "end": end,
        "minutes": 60,
        "cpuCores": 0.25,
        "cpuCoreRequestAverage": 0.25,
        "cpuCoreUsageAverage": rng.random() * 0.3,
        "cpuCoreHours": 0.25,
        "cpuCost": cpu_cost,
        "cpuCostAdjustment": 0,
        "cpuEfficiency": rng.random(),
        "gpuCount": 0,
        "gpuHours": 0,
        "gpuCost": 0,
        "gpuCostAdjustment": 0,
        "networkTransferBytes": rng.random() * 1e8,
        "networkReceiveBytes": rng.random() * 1e8,
        "networkCost": 0,
        "networkCrossZoneCost": 0,
        "networkCrossRegionCost": 0,
        "networkInternetCost": 0,
        "networkCostAdjustment": 0,
        "loadBalancerCost": lb_cost,
        "loadBalancerCostAdjustment": 0,
        "pvBytes": 1073741824 if pvs else 0,
        "pvByteHours": 1073741824 if pvs else 0,
        "pvCost": pv_cost,
        "pvs": pvs,
        "pvCostAdjustment": 0,
        "ramBytes": 536870912,
        "ramByteRequestAverage": 536870912,
        "ramByteUsageAverage": rng.random() * 536870912,
        "ramByteHours": 536870912,
        "ramCost": ram_cost,
        "ramCostAdjustment": 0,
        "ramEfficiency": rng.random(),
        "externalCost": 0,
        "sharedCost": 0,
        "totalCost": total,
        "totalEfficiency": "NaN" if i % 997 == 0 else rng.random(),
        "rawAllocationOnly": None,
        "lbAllocations": lbs,
    }


def _idle(node: int, start: str, end: str) -> tuple[str, dict[str, object]]:
    node_name = f"ip-10-0-{node // 250}-{node % 250}.ec2.internal"
    name = f"cluster-one/{node_name}/__idle__"
    return name, {
        "name": name,
        "properties": {
            "cluster": "cluster-one",
            "node": node_name,
            "providerID": f"aws:///us-east-1{'abc'[node % 3]}/i-{node:017x}",
        },
        "window": {"start": start, "end": end},
        "start": start,
        "end": end,
        "minutes": 60,
        "cpuCost": 0.05,
        "ramCost": 0.02,
        "gpuCost": 0,
        "pvCost": 0,
        "networkCost": 0,
        "loadBalancerCost": 0,
        "sharedCost": 0,
        "externalCost": 0,
        "totalCost": 0.07,
        "cpuEfficiency": 0,
        "ramEfficiency": 0,
        "totalEfficiency": 0,
        "pvs": None,
        "lbAllocations": None,
    }


@cache
def _template(allocations: int, nodes: int, seed: int) -> bytes:
    rng = random.Random(seed)
    entries = dict(_idle(n, _PLACEHOLDER_START, _PLACEHOLDER_END) for n in range(nodes))
    entries.update(
        _allocation(rng, i, i % nodes, _PLACEHOLDER_START, _PLACEHOLDER_END) for i in range(allocations - nodes)
    )
    ordered = {key: entries[key] for key in sorted(entries)}
    return json.dumps({"code": 200, "status": "success", "data": [ordered]}, separators=(",", ":")).encode()


def step_body(window: Window, *, allocations: int = 50_000, nodes: int = 200, seed: int = 7) -> bytes:
    """One step's answer: `allocations` entries (of which `nodes` are per-node `__idle__` rows)."""
    start, end = window.to_opencost().split(",")
    return (
        _template(allocations, nodes, seed)
        .replace(_PLACEHOLDER_START.encode(), start.encode())
        .replace(_PLACEHOLDER_END.encode(), end.encode())
    )
