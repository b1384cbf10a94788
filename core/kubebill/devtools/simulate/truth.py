"""Ground truth: every bill line's four costs sent to the pods, sentinels or `not_kubernetes` that caused them."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from kubebill.devtools.simulate.allocation import HOURS, US_PER_HOUR, ClusterDay
from kubebill.devtools.simulate.lines import Lines
from kubebill.devtools.simulate.model import Service
from kubebill.model import IDLE, SHARED, UNMOUNTED

NOT_KUBERNETES = "not_kubernetes"

GROUND_TRUTH = pa.schema(
    [
        pa.field("provider", pa.string(), nullable=False),
        pa.field("cluster", pa.string()),
        pa.field("namespace", pa.string()),
        pa.field("pod", pa.string()),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("allocation", pa.string(), nullable=False),
        pa.field("BillingCurrency", pa.string(), nullable=False),
        pa.field("BilledCost", pa.float64(), nullable=False),
        pa.field("EffectiveCost", pa.float64(), nullable=False),
        pa.field("ListCost", pa.float64(), nullable=False),
        pa.field("ContractedCost", pa.float64(), nullable=False),
    ]
)

Key = tuple[str, str | None, str | None, str | None, date, str]


class Truth:
    """Sums of the four cost columns per (provider, cluster, namespace, pod, day, allocation kind)."""

    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency
        self.sums: dict[Key, np.ndarray] = defaultdict(lambda: np.zeros(4))

    def add(self, provider: str, blocks: list[Lines]) -> None:
        for block in blocks:
            if len(block) == 0:
                continue
            if block.target == "external":
                self._external(provider, block)
            elif block.target == "node":
                self._node(provider, block)
            else:
                self._cluster_scoped(provider, block)

    def _external(self, provider: str, block: Lines) -> None:
        costs = block.costs()
        days = block.start_us // (HOURS * US_PER_HOUR)
        for d in np.unique(days):
            sel = days == d
            self.sums[(provider, None, None, None, _day(int(d)), NOT_KUBERNETES)] += costs[:, sel].sum(axis=1)

    def _cluster_scoped(self, provider: str, block: Lines) -> None:
        cd = _cluster_day(block)
        cluster = cd.cluster
        costs = block.costs()
        per_resource = np.zeros((4, len(block.resources)))
        np.add.at(per_resource.T, block.r, costs.T)
        for i, res in enumerate(block.resources):
            amount = per_resource[:, i]
            if block.target == "shared" or (block.target == "lbs" and not cluster.services):
                self.sums[(provider, cluster.name, SHARED, SHARED, cd.day, "shared")] += amount
            elif block.target == "lbs":  # the cluster's LB: its Services' by their list price (they run all day)
                total = sum(s.hourly for s in cluster.services)
                for svc in cluster.services:
                    self._service(provider, cd, svc, amount * svc.hourly / total)
            elif block.target == "pv":
                vol = cluster.volumes[res.ref]
                if vol.pod is None:
                    self.sums[(provider, cluster.name, UNMOUNTED, UNMOUNTED, cd.day, "unmounted")] += amount
                else:
                    pod = cluster.pods[vol.pod]
                    self.sums[(provider, cluster.name, pod.namespace, pod.name, cd.day, "workload")] += amount
            else:
                self._service(provider, cd, cluster.services[res.ref], amount)

    def _service(self, provider: str, cd: ClusterDay, svc: Service, amount: np.ndarray) -> None:
        """A load balancer's cost to its Service's pods: they run the whole time, so they share it equally."""
        share = amount / len(svc.pods)
        for p in svc.pods:
            pod = cd.cluster.pods[p]
            self.sums[(provider, cd.cluster.name, pod.namespace, pod.name, cd.day, "workload")] += share

    def _node(self, provider: str, block: Lines) -> None:
        """Spread each line evenly over the hours it covers, then split node-hours by list-cost weight."""
        cd = _cluster_day(block)
        n_nodes = len(cd.cluster.nodes)
        x = np.zeros((4, n_nodes, HOURS))
        h0 = np.clip((block.start_us - cd.day_start_us) // US_PER_HOUR, 0, HOURS)
        h1 = np.clip((block.end_us - cd.day_start_us) // US_PER_HOUR, 0, HOURS)
        costs = block.costs()
        nodes = np.array([res.ref for res in block.resources])[block.r]
        for span in np.unique(h1 - h0):
            sel = np.nonzero((h1 - h0) == span)[0]
            for k in range(int(span)):
                for col in range(4):
                    np.add.at(x[col], (nodes[sel], h0[sel] + k), costs[col, sel] / span)
        self.add_node_costs(provider, cd, x)

    def add_node_costs(self, provider: str, cd: ClusterDay, x: np.ndarray) -> None:
        cluster = cd.cluster
        weight = cd.list_cost / cd.node_list[cd.c_node]  # (C, 24) share of the node-hour
        per_container = (x[:, cd.c_node, :] * weight[None]).sum(axis=2)  # (4, C)
        per_pod = np.zeros((4, len(cluster.pods)))
        np.add.at(per_pod.T, cd.c_pod, per_container.T)
        for p in np.nonzero(np.any(per_pod != 0, axis=0))[0]:
            pod = cluster.pods[p]
            self.sums[(provider, cluster.name, pod.namespace, pod.name, cd.day, "workload")] += per_pod[:, p]
        idle = x.sum(axis=2).sum(axis=1) - per_container.sum(axis=1)
        self.sums[(provider, cluster.name, IDLE, IDLE, cd.day, "idle")] += idle

    def table(self) -> pa.Table:
        keys = sorted(self.sums, key=lambda k: (k[0], k[1] or "", k[4], k[5], k[2] or "", k[3] or ""))
        values = np.array([self.sums[k] for k in keys]).reshape(-1, 4)
        columns = {
            "provider": [k[0] for k in keys],
            "cluster": [k[1] for k in keys],
            "namespace": [k[2] for k in keys],
            "pod": [k[3] for k in keys],
            "day": [k[4] for k in keys],
            "allocation": [k[5] for k in keys],
            "BillingCurrency": [self.currency] * len(keys),
            "BilledCost": values[:, 0],
            "EffectiveCost": values[:, 1],
            "ListCost": values[:, 2],
            "ContractedCost": values[:, 3],
        }
        return pa.table(columns, schema=GROUND_TRUTH)


def _cluster_day(block: Lines) -> ClusterDay:
    if block.cluster is None:
        raise ValueError(f"{block.kind} lines target {block.target} but carry no cluster")
    return block.cluster


def _day(days_since_epoch: int) -> date:
    return datetime.fromtimestamp(days_since_epoch * 86400, UTC).date()
