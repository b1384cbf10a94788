"""A small day written out by hand, for the policies' hand-computed splits.

Cluster c1, node n1 (i-0001), hour 0, list costs (cpu + ram): web 1.5, db 0.5, kube-system 1.0 (label
team=platform), __idle__ 2.0 — the node's 5.0. Its bill line costs 10.0, so k = 2: web 3.0, db 1.0,
kube-system 2.0, __idle__ 4.0 (ratios 0.3, 0.1, 0.2, 0.4). A NAT line of c1 (0.6) is __shared__.
Cluster c2, node n2 (i-0002): web 1.0, its line 1.0. Outside every cluster: a database tagged team=db (0.7),
a bucket tagged kubernetes.io/namespace=web (0.8), another tagged for web in cluster c2 (0.4), and a line
with no tag (0.5).
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from kubebill.reconcile.engine import Options, reconcile
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line

ALLOCATION = allocation(
    [
        alloc_row(namespace="web", cpu=1.0, ram=0.5),
        alloc_row(namespace="db", cpu=0.3, ram=0.2),
        alloc_row(namespace="kube-system", cpu=0.5, ram=0.5, labels='{"team":"platform"}'),
        idle_row(cpu=1.0, ram=1.0),
        alloc_row(cluster="c2", node="n2", provider_id="aws:///us-east-1a/i-0002", namespace="web", ram=0.0),
    ]
)
COST = cost(
    [
        line("i-0001", 10.0),
        line("i-0002", 1.0),
        line("nat-1", 0.6, hint="c1"),
        line("db-1", 0.7, Tags='{"team":"db"}'),
        line("bucket-1", 0.8, Tags='{"kubernetes.io/namespace":"web"}'),
        line("bucket-2", 0.4, Tags='{"cluster":"c2","kubernetes.io/namespace":"web"}'),
        line("other", 0.5),
    ]
)


def merged(**options: object) -> pa.Table:
    return reconcile(ALLOCATION, COST, day=DAY.date(), options=Options(**options))  # type: ignore[arg-type]


def by_target(table: pa.Table) -> dict[tuple[str | None, str | None, str | None, str | None], float]:
    """Σ BilledCost per (cluster, namespace, x_K8sAllocation, AllocatedMethodId), rounded to 1e-9."""
    found: dict[tuple[str | None, str | None, str | None, str | None], float] = defaultdict(float)
    for row in table.select(
        ["x_K8sCluster", "x_K8sNamespace", "x_K8sAllocation", "AllocatedMethodId", "BilledCost"]
    ).to_pylist():
        key = (row["x_K8sCluster"], row["x_K8sNamespace"], row["x_K8sAllocation"], row["AllocatedMethodId"])
        found[key] += row["BilledCost"]
    return {k: round(v, 9) for k, v in found.items()}
