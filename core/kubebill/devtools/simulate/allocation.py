"""Hourly allocations of one cluster-day as OpenCost computes them (list prices), in the ALLOCATION schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from kubebill.devtools.simulate.model import GIB, PROVIDERS, Cluster, Scenario
from kubebill.devtools.simulate.native import timestamps
from kubebill.model import IDLE, UNMOUNTED
from kubebill.schema import ALLOCATION, LOAD_BALANCER, PV, conform

HOURS = 24
US_PER_HOUR = 3_600_000_000


@dataclass
class ClusterDay:
    """The model's numbers for one cluster and UTC day, hour by hour (C containers, N nodes, 24 steps)."""

    cluster: Cluster
    day: date
    day_start_us: int
    c_pod: np.ndarray  # (C,) pod index of each container
    c_node: np.ndarray  # (C,) node index
    minutes: np.ndarray  # (C, 24)
    cpu_request: np.ndarray  # (C,) cores
    cpu_usage: np.ndarray  # (C, 24) cores
    ram_request: np.ndarray  # (C,) bytes
    ram_usage: np.ndarray  # (C, 24) bytes
    cpu_cost: np.ndarray  # (C, 24)
    ram_cost: np.ndarray  # (C, 24)
    pv_cost: np.ndarray  # (C, 24)
    pv_byte_hours: np.ndarray  # (C, 24)
    lb_cost: np.ndarray  # (C, 24)
    node_cpu_cost: np.ndarray  # (N, 24) the node's whole CPU at list price
    node_ram_cost: np.ndarray  # (N, 24)

    @property
    def list_cost(self) -> np.ndarray:
        """(C, 24) the container's compute list cost: the weight its node's lines are split by."""
        total: np.ndarray = self.cpu_cost + self.ram_cost
        return total

    @property
    def node_list(self) -> np.ndarray:
        total: np.ndarray = self.node_cpu_cost + self.node_ram_cost
        return total

    def hour_start(self, h: int) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC) + timedelta(hours=h)


def cluster_day(scenario: Scenario, cluster: Cluster, day_index: int) -> ClusterDay:
    pods = cluster.pods
    c_pod = np.array([p.index for p in pods for _ in p.containers], dtype=np.int64)
    c_node = np.array([p.node for p in pods for _ in p.containers], dtype=np.int64)
    n_cont = np.array([len(p.containers) for p in pods for _ in p.containers], dtype=np.float64)
    start = np.array([p.start_minute for p in pods for _ in p.containers], dtype=np.int64)
    end = np.array([p.end_minute for p in pods for _ in p.containers], dtype=np.int64)
    cpu_req = np.array([c.cpu_request for p in pods for c in p.containers])
    cpu_use = np.array([c.cpu_usage for p in pods for c in p.containers])
    ram_req = np.array([c.ram_request for p in pods for c in p.containers])
    ram_use = np.array([c.ram_usage for p in pods for c in p.containers])
    hour0 = (day_index * HOURS + np.arange(HOURS)) * 60
    minutes = np.clip(np.minimum(end[:, None], hour0 + 60) - np.maximum(start[:, None], hour0), 0, 60).astype(float)
    hours = minutes / 60.0
    seed = [scenario.seed, PROVIDERS.index(cluster.provider), cluster.index, day_index]
    rng = np.random.default_rng(seed)
    cpu_u = cpu_use[:, None] * rng.uniform(0.6, 1.0, (len(c_pod), HOURS))
    ram_u = ram_use[:, None] * rng.uniform(0.8, 1.0, (len(c_pod), HOURS))
    cpu_rate = np.array([n.cpu_rate for n in cluster.nodes])
    ram_rate = np.array([n.ram_rate for n in cluster.nodes])
    cpu_cost = np.maximum(cpu_req[:, None], cpu_u) * hours * cpu_rate[c_node][:, None]
    ram_cost = np.maximum(ram_req[:, None], ram_u) / GIB * hours * ram_rate[c_node][:, None]
    pv_cost = np.zeros_like(cpu_cost)
    pv_bh = np.zeros_like(cpu_cost)
    lb_cost = np.zeros_like(cpu_cost)
    for vol in cluster.volumes:
        if vol.pod is not None:
            rows = c_pod == vol.pod
            pv_cost[rows] = vol.hourly * hours[rows] / n_cont[rows][:, None]
            pv_bh[rows] = vol.size_gib * GIB * hours[rows] / n_cont[rows][:, None]
    for svc in cluster.services:
        for p in svc.pods:
            rows = c_pod == p
            lb_cost[rows] = svc.hourly / len(svc.pods) * hours[rows] / n_cont[rows][:, None]
    cores = np.array([n.instance.cores for n in cluster.nodes], dtype=float)
    ram = np.array([n.instance.ram_gib for n in cluster.nodes], dtype=float)
    ones = np.ones((1, HOURS))
    day = scenario.first_day + timedelta(days=day_index)
    day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
    return ClusterDay(
        cluster,
        day,
        day_start,
        c_pod,
        c_node,
        minutes,
        cpu_req,
        cpu_u,
        ram_req,
        ram_u,
        cpu_cost,
        ram_cost,
        pv_cost,
        pv_bh,
        lb_cost,
        (cores * cpu_rate)[:, None] * ones,
        (ram * ram_rate)[:, None] * ones,
    )


def _efficiency(usage: np.ndarray, request: np.ndarray) -> np.ndarray:
    """OpenCost: usage / request; 1 when there is usage but no request; 0 when neither."""
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(request > 0, usage / np.where(request > 0, request, 1.0), np.where(usage > 0, 1.0, 0.0))
    return eff


def allocation_table(cd: ClusterDay) -> pa.Table:
    """One row per running container per hour, then one `__idle__` row per node per hour (idleByNode)."""
    cluster = cd.cluster
    pods = cluster.pods
    n_n = len(cluster.nodes)
    hh, cc = np.nonzero(cd.minutes.T > 0)  # hour-major order
    rows_h = np.concatenate([hh, np.repeat(np.arange(HOURS), n_n)])
    is_idle = np.concatenate([np.zeros(len(cc), bool), np.ones(HOURS * n_n, bool)])
    idle_node = np.tile(np.arange(n_n), HOURS)
    order = np.lexsort((is_idle, rows_h))  # within each hour: containers, then idle rows
    rows_h = rows_h[order]
    c_idx = np.concatenate([cc, np.full(HOURS * n_n, -1)])[order]
    node_idx = np.concatenate([cd.c_node[cc], idle_node])[order]
    idle = is_idle[order]
    cont = np.where(idle, 0, c_idx)

    def per(values: np.ndarray, idle_values: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.where(idle, idle_values[node_idx, rows_h], values[cont, rows_h])
        return out

    minutes = per(cd.minutes, np.full((n_n, HOURS), 60.0))
    minutes / 60.0
    cpu_alloc = np.maximum(cd.cpu_request[:, None], cd.cpu_usage)
    ram_alloc = np.maximum(cd.ram_request[:, None], cd.ram_usage)
    cpu_hours_c = cpu_alloc * cd.minutes / 60.0
    ram_hours_c = ram_alloc * cd.minutes / 60.0
    node_cores = np.array([n.instance.cores for n in cluster.nodes], dtype=float)[:, None] * np.ones((1, HOURS))
    node_ram = np.array([n.instance.ram_gib * GIB for n in cluster.nodes], dtype=float)[:, None] * np.ones((1, HOURS))
    cpu_used_node = _node_sum(cd.c_node, cpu_hours_c, n_n)
    ram_used_node = _node_sum(cd.c_node, ram_hours_c, n_n)
    cpu_cost = per(cd.cpu_cost, cd.node_cpu_cost - _node_sum(cd.c_node, cd.cpu_cost, n_n))
    ram_cost = per(cd.ram_cost, cd.node_ram_cost - _node_sum(cd.c_node, cd.ram_cost, n_n))
    zeros_n = np.zeros((n_n, HOURS))
    cpu_core_hours = per(cpu_hours_c, node_cores - cpu_used_node)
    ram_byte_hours = per(ram_hours_c, node_ram - ram_used_node)
    cpu_req = np.where(idle, 0.0, cd.cpu_request[cont])
    ram_req = np.where(idle, 0.0, cd.ram_request[cont])
    cpu_use = per(cd.cpu_usage, zeros_n)
    ram_use = per(cd.ram_usage, zeros_n)
    pv_cost = per(cd.pv_cost, zeros_n)
    lb_cost = per(cd.lb_cost, zeros_n)
    cpu_eff = np.where(idle, 0.0, _efficiency(cpu_use, cpu_req))
    ram_eff = np.where(idle, 0.0, _efficiency(ram_use, ram_req))
    compute = cpu_cost + ram_cost
    with np.errstate(divide="ignore", invalid="ignore"):
        total_eff = np.where(idle | (compute <= 0), 0.0, (cpu_cost * cpu_eff + ram_cost * ram_eff) / compute)
    total = cpu_cost + ram_cost + pv_cost + lb_cost
    start_us = cd.day_start_us + rows_h.astype(np.int64) * US_PER_HOUR

    def strings(values: list[str]) -> pa.Array:
        """A per-row string column from per-container values and IDLE on idle rows."""
        arr = pa.array([*values, IDLE], pa.string())
        return arr.take(pa.array(np.where(idle, len(values), cont)))

    def node_strings(values: list[str]) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(node_idx))

    cpods = [pods[p] for p in cd.c_pod]
    cnames = [c.name for p in pods for c in p.containers]
    labels = [json.dumps(p.labels, sort_keys=True) for p in cpods]
    columns: dict[str, pa.Array | np.ndarray] = {
        "window_start": timestamps(start_us),
        "window_end": timestamps(start_us + US_PER_HOUR),
        "cluster": pa.array([cluster.name] * len(rows_h), pa.string()),
        "node": node_strings([n.name for n in cluster.nodes]),
        "provider_id": node_strings([n.provider_id for n in cluster.nodes]),
        "namespace": strings([p.namespace for p in cpods]),
        "controller_kind": _nullable(strings([p.controller_kind for p in cpods]), idle),
        "controller": _nullable(strings([p.controller for p in cpods]), idle),
        "pod": strings([p.name for p in cpods]),
        "container": strings(cnames),
        "labels": _nullable(strings(labels), idle),
        "source": pa.array(["opencost"] * len(rows_h), pa.string()),
        "minutes": minutes,
        "cpu_core_hours": cpu_core_hours,
        "cpu_core_request_average": cpu_req,
        "cpu_core_usage_average": cpu_use,
        "ram_byte_hours": ram_byte_hours,
        "ram_byte_request_average": ram_req,
        "ram_byte_usage_average": ram_use,
        "gpu_hours": np.zeros(len(rows_h)),
        "cpu_cost": cpu_cost,
        "ram_cost": ram_cost,
        "gpu_cost": np.zeros(len(rows_h)),
        "pv_cost": pv_cost,
        "network_cost": np.zeros(len(rows_h)),
        "load_balancer_cost": lb_cost,
        "shared_cost": np.zeros(len(rows_h)),
        "external_cost": np.zeros(len(rows_h)),
        "total_cost": total,
        "cpu_efficiency": cpu_eff,
        "ram_efficiency": ram_eff,
        "total_efficiency": total_eff,
        "pvs": _pvs(cd, cont, rows_h, idle),
        "load_balancers": _lbs(cd, cont, rows_h, idle),
    }
    table = conform(pa.table(columns), ALLOCATION)
    unmounted = _unmounted(cd)
    if unmounted is None:
        return table
    return pa.concat_tables([table, unmounted]).sort_by([("window_start", "ascending")])  # a stable sort


def _unmounted(cd: ClusterDay) -> pa.Table | None:
    """OpenCost's `__unmounted__` allocation: the PVs no pod mounts, one row per hour, no node."""
    volumes = [v for v in cd.cluster.volumes if v.pod is None]
    if not volumes:
        return None
    start = cd.day_start_us + np.arange(HOURS, dtype=np.int64) * US_PER_HOUR
    cost = sum(v.hourly for v in volumes)
    pvs = [
        [
            {"name": v.name, "provider_id": v.provider_id, "byte_hours": float(v.size_gib * GIB), "cost": v.hourly}
            for v in volumes
        ]
    ] * HOURS
    columns = {
        "window_start": timestamps(start),
        "window_end": timestamps(start + US_PER_HOUR),
        "cluster": [cd.cluster.name] * HOURS,
        "namespace": [UNMOUNTED] * HOURS,
        "pod": [UNMOUNTED] * HOURS,
        "container": [UNMOUNTED] * HOURS,
        "source": ["opencost"] * HOURS,
        "minutes": np.full(HOURS, 60.0),
        "pv_cost": np.full(HOURS, cost),
        "total_cost": np.full(HOURS, cost),
        "pvs": pa.array(pvs, pa.list_(PV)),
    }
    zero = (
        "cpu_core_hours",
        "cpu_core_request_average",
        "cpu_core_usage_average",
        "ram_byte_hours",
        "ram_byte_request_average",
        "ram_byte_usage_average",
        "gpu_hours",
        "cpu_cost",
        "ram_cost",
        "gpu_cost",
        "network_cost",
        "load_balancer_cost",
        "shared_cost",
        "external_cost",
        "cpu_efficiency",
        "ram_efficiency",
        "total_efficiency",
    )
    columns |= {name: np.zeros(HOURS) for name in zero}
    return conform(pa.table(columns), ALLOCATION)


def _nullable(arr: pa.Array, idle: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(idle), pa.nulls(len(arr), pa.string()), arr)


def _node_sum(c_node: np.ndarray, values: np.ndarray, n_nodes: int) -> np.ndarray:
    out = np.zeros((n_nodes, values.shape[1]))
    np.add.at(out, c_node, values)
    return out


def _pvs(cd: ClusterDay, cont: np.ndarray, rows_h: np.ndarray, idle: np.ndarray) -> pa.Array:
    by_pod = {v.pod: v for v in cd.cluster.volumes if v.pod is not None}
    out: list[list[dict[str, object]] | None] = [None] * len(cont)
    for i in np.nonzero(~idle & np.isin(cd.c_pod[cont], list(by_pod)))[0]:
        c, h = cont[i], rows_h[i]
        vol = by_pod[int(cd.c_pod[c])]
        out[i] = [
            {
                "name": vol.name,
                "provider_id": vol.provider_id,
                "byte_hours": float(cd.pv_byte_hours[c, h]),
                "cost": float(cd.pv_cost[c, h]),
            }
        ]
    return pa.array(out, pa.list_(PV))


def _lbs(cd: ClusterDay, cont: np.ndarray, rows_h: np.ndarray, idle: np.ndarray) -> pa.Array:
    by_pod = {p: s for s in cd.cluster.services for p in s.pods}
    out: list[list[dict[str, object]] | None] = [None] * len(cont)
    for i in np.nonzero(~idle & np.isin(cd.c_pod[cont], list(by_pod)))[0]:
        c, h = cont[i], rows_h[i]
        svc = by_pod[int(cd.c_pod[c])]
        cost = float(cd.lb_cost[c, h])
        out[i] = [{"service": svc.key, "provider_id": svc.provider_id, "hours": cd.minutes[c, h] / 60.0, "cost": cost}]
    return pa.array(out, pa.list_(LOAD_BALANCER))
