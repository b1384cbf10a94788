"""Unit prices a cluster really paid, learned from its reconciled results and its allocation exports.

Result rows carry each split row's cost and its CPU/RAM/GPU shares (`x_K8sCpuRatio` …) but not the allocation's
quantities (`ConsumedQuantity` is the bill line's, in the cloud's unit), so the quantities come from the
allocation exports in the store, joined to the results by day, node, namespace, pod and container:

- per CPU core-hour, RAM GiB-hour, GPU-hour: Σ cost × share of the node lines' `workload` rows ÷ Σ
  `cpu_core_hours`, `ram_byte_hours` / 2³⁰, `gpu_hours` of the same containers; per cluster and per node group
  where the bill names one (the AWS instance family, the Azure scale set, the GKE node pool);
- per GiB-month of each storage class (the bill's SKU of the PV lines): Σ cost ÷ Σ `pvs.byte_hours` / 2³⁰ / 730
  of the same pods (a pod's volumes of several SKUs share its byte-hours by cost);
- per load-balancer hour: Σ cost of the load-balancer lines ÷ the hours the Services had a load balancer;
- the burst: Σ allocated ÷ Σ requested hours of the containers that request CPU (RAM): what a requested unit is
  really allocated on this cluster, as OpenCost allocates max(request, usage);
- the overhead: Σ of `idle`, `system`, `shared`, `unmounted`, `unallocated` rows ÷ Σ `workload` rows.

Effective prices come from `EffectiveCost`, list prices from `ListCost`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.model import SENTINELS
from kubebill.schema import RESULT
from kubebill.scratch import scratch
from kubebill.store.base import Store, copy_stream

HOURS_PER_MONTH = 730.0
GIB = 1024**3
MIN_LINES = 24  # fewer bill lines than a day of hourly lines: the price is flagged as resting on too little data
OVERHEAD_KINDS = ("idle", "system", "shared", "unmounted", "unallocated")
RESULT_COLUMNS = (
    "ProviderName",
    "ResourceId",
    "ResourceType",
    "SkuId",
    "ChargeDescription",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingCurrency",
    "EffectiveCost",
    "ListCost",
    "x_K8sCluster",
    "x_K8sNode",
    "x_K8sNamespace",
    "x_K8sControllerKind",
    "x_K8sController",
    "x_K8sPod",
    "x_K8sContainer",
    "x_K8sAllocation",
    "x_K8sCostComponent",
    "x_K8sCpuRatio",
    "x_K8sRamRatio",
    "x_K8sGpuRatio",
    "x_SourceKey",
    "x_SourceRowId",
)


@dataclass(frozen=True)
class Price:
    """One unit price, effective and list (None: nothing to learn it from), and what it rests on."""

    effective: float | None
    list: float | None
    quantity: float  # units it was learned over (core-hours, GiB-hours, GiB-months, hours)
    lines: int  # bill lines
    days: int

    @property
    def thin(self) -> bool:
        """Rests on too little data: fewer than MIN_LINES bill lines."""
        return self.effective is not None and self.lines < MIN_LINES

    @classmethod
    def of(cls, effective: float, listed: float, quantity: float, lines: int, days: int) -> Price:
        if quantity <= 0 or lines == 0:
            return cls(None, None, quantity, lines, days)
        return cls(effective / quantity, listed / quantity, quantity, lines, days)


NO_PRICE = Price(None, None, 0.0, 0, 0)


@dataclass(frozen=True)
class Rates:
    """Compute unit prices of a cluster or of one node group."""

    cpu_core_hour: Price
    ram_gib_hour: Price
    gpu_hour: Price
    nodes: int


@dataclass(frozen=True)
class StoragePrice:
    sku: str
    description: str
    gib_month: Price


@dataclass(frozen=True)
class Overhead:
    """Idle and shared cost per unit of workload cost (0.25: every 1.00 of workload carries 0.25 more)."""

    effective_ratio: float
    list_ratio: float
    lines: int


@dataclass(frozen=True)
class Burst:
    """Allocated ÷ requested hours of the containers that request a resource: OpenCost allocates max(request,
    usage), so on a cluster whose containers use more than they request, a requested core costs more than one."""

    cpu: float = 1.0
    ram: float = 1.0


@dataclass
class PriceBook:
    """Everything an estimate needs about one cluster, over `days`."""

    cluster: str
    currency: str
    days: list[date]
    compute: Rates
    groups: dict[str, Rates] = field(default_factory=dict)
    storage: list[StoragePrice] = field(default_factory=list)
    all_storage: Price = NO_PRICE
    load_balancer_hour: Price = NO_PRICE
    overhead: Overhead = Overhead(0.0, 0.0, 0)
    burst: Burst = Burst()

    @property
    def hours(self) -> float:
        return 24.0 * len(self.days)


def window(available: list[date], days: int) -> list[date]:
    """The result days of the last `days` days back from the newest one."""
    if not available:
        return []
    newest = available[-1]
    first = newest - timedelta(days=days - 1)
    return [d for d in available if d >= first]


def read_results(store: Store, layout: Layout, days: list[date], *, cluster: str) -> pa.Table:
    """`cluster`'s RESULT_COLUMNS of `days`, plus `day` (the result file's UTC day), kept batch by batch: memory
    holds one cluster's rows however many clusters the days have."""
    from kubebill.sinks.results import day_batches

    schema = pa.schema([*(RESULT.field(name) for name in RESULT_COLUMNS), pa.field("day", pa.date32())])
    tables = [schema.empty_table()]
    for day in days:
        for batch in day_batches(store, layout, day, RESULT_COLUMNS):
            mine = batch.filter(pc.equal(batch.column("x_K8sCluster"), cluster))
            if mine.num_rows:
                table = pa.Table.from_batches([mine])
                tables.append(table.append_column("day", pa.array([day] * table.num_rows, pa.date32())))
    return pa.concat_tables(tables)


def result_clusters(store: Store, layout: Layout, days: list[date]) -> list[str]:
    """The clusters the results of `days` name (reading that one column)."""
    from kubebill.sinks.results import day_batches

    found: set[str] = set()
    for day in days:
        for batch in day_batches(store, layout, day, ["x_K8sCluster"]):
            found.update(c for c in pc.unique(batch.column(0)).to_pylist() if c)
    return sorted(found)


def pick_cluster(known: list[str], cluster: str | None, *, store_url: str, days: list[date]) -> str:
    """The cluster asked for, or the only one; InputError saying what to run or pass otherwise."""
    span = f"{days[0]} to {days[-1]}" if days else "any day"
    if cluster is None:
        if len(known) == 1:
            return known[0]
        if not known:
            raise InputError(
                f"no cluster in the results of {store_url} ({span}): export allocations (`kubebill export`) "
                "then run `kubebill merge`"
            )
        raise InputError(f"several clusters in the results of {store_url}: pass --cluster, one of {', '.join(known)}")
    if cluster not in known:
        raise InputError(
            f"no results for cluster {cluster!r} in {store_url} ({span}): export its allocations "
            f"(`kubebill export --cluster {cluster} …`) then run `kubebill merge`"
            + (f"; clusters with results: {', '.join(known)}" if known else "")
        )
    return cluster


def allocation_paths(store: Store, layout: Layout, cluster: str, days: list[date], workdir: str) -> list[str]:
    """Local copies of the cluster's allocation exports of `days`."""
    from kubebill.sources.stored import by_day

    wanted = set(days)
    paths: list[str] = []
    for day, objects in by_day(store, layout).items():
        if day not in wanted:
            continue
        for info in objects:
            if layout.parse(info.key).cluster != cluster:
                continue
            path = os.path.join(workdir, f"allocation-{len(paths):05d}.parquet")
            with store.open(info.key) as src, open(path, "wb") as dst:
                copy_stream(src, dst)
            paths.append(path)
    return paths


def learn(store: Store, layout: Layout, *, cluster: str | None = None, days: int = 7) -> tuple[PriceBook, pa.Table]:
    """The price book of `cluster` (or the store's only cluster) over the last `days` result days, and that
    cluster's result rows (RESULT_COLUMNS + day) it was learned from."""
    from kubebill.sinks.results import available_days

    chosen = window(available_days(store, layout), days)
    if not chosen:
        raise InputError(f"no results in {store.url}: run `kubebill merge` first")
    name = pick_cluster(result_clusters(store, layout, chosen), cluster, store_url=store.url, days=chosen)
    mine = read_results(store, layout, chosen, cluster=name)
    with scratch("prices") as workdir:
        paths = allocation_paths(store, layout, name, chosen, workdir)
        if not paths:
            raise InputError(
                f"no allocation exports of cluster {name!r} for {chosen[0]} to {chosen[-1]} in {store.url}: "
                "the prices need them beside the results (`kubebill export` then `kubebill merge`)"
            )
        return price_book(mine, paths, cluster=name), mine


def _connect(results: pa.Table, paths: list[str]) -> Any:
    from kubebill.reconcile import session

    con = session.connect()
    con.register("res", results)
    files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    sentinels = ", ".join(f"'{s}'" for s in sorted(SENTINELS))
    con.execute(
        f"""CREATE TEMP VIEW alloc AS SELECT CAST(window_start AS DATE) AS day, window_start, window_end,
        node, namespace AS ns, pod, container, minutes, cpu_core_hours, ram_byte_hours, gpu_hours,
        cpu_core_request_average, ram_byte_request_average, pvs, load_balancers,
        namespace IN ({sentinels}) AS sentinel
        FROM read_parquet([{files}], union_by_name = true)"""
    )
    return con


_NODE_GROUP = """CREATE TEMP TABLE node_group AS
SELECT x_K8sNode AS node, arg_max(grp, EffectiveCost) AS grp FROM (
  SELECT x_K8sNode, EffectiveCost, CASE
    WHEN ProviderName = 'AWS' AND regexp_matches(ResourceType, '^[a-z][a-z0-9-]*\\.[a-z0-9]+$')
      THEN split_part(ResourceType, '.', 1)
    WHEN ProviderName = 'Microsoft'
      THEN nullif(lower(regexp_extract(ResourceId, '(?i)virtualMachineScaleSets/([^/]+)', 1)), '')
    WHEN ProviderName = 'Google Cloud' AND starts_with(x_K8sNode, 'gke-' || x_K8sCluster || '-')
      THEN nullif(regexp_extract(x_K8sNode[length(x_K8sCluster) + 6:], '^(.+)-[0-9a-f]{8}-[a-z0-9]{4}$', 1), '')
  END AS grp
  FROM res WHERE x_K8sCostComponent = 'compute' AND x_K8sNode IS NOT NULL) GROUP BY 1"""
# The bill names a node's group: the AWS instance family, the Azure scale set, the GKE node pool (GKE names its
# nodes gke-<cluster>-<pool>-<8 hex>-<4>).

_COMPUTE = """
WITH r AS (
  SELECT res.*, g.grp FROM res LEFT JOIN node_group g ON g.node = res.x_K8sNode
  WHERE x_K8sAllocation = 'workload' AND x_K8sCostComponent = 'compute'),
a AS (
  SELECT day, node, ns, pod, container, sum(cpu_core_hours) AS cpu_h, sum(ram_byte_hours) AS ram_bh,
         sum(gpu_hours) AS gpu_h
  FROM alloc WHERE NOT sentinel GROUP BY ALL),
cost AS (
  SELECT grp, grouping(grp) AS whole,
         sum(EffectiveCost * coalesce(x_K8sCpuRatio, 0)) AS e_cpu, sum(ListCost * coalesce(x_K8sCpuRatio, 0)) AS l_cpu,
         sum(EffectiveCost * coalesce(x_K8sRamRatio, 0)) AS e_ram, sum(ListCost * coalesce(x_K8sRamRatio, 0)) AS l_ram,
         sum(EffectiveCost * coalesce(x_K8sGpuRatio, 0)) AS e_gpu, sum(ListCost * coalesce(x_K8sGpuRatio, 0)) AS l_gpu,
         count(DISTINCT (x_SourceKey, x_SourceRowId)) AS lines, count(DISTINCT day) AS days,
         count(DISTINCT x_K8sNode) AS nodes
  FROM r SEMI JOIN a ON a.day = r.day AND a.node = r.x_K8sNode AND a.ns = r.x_K8sNamespace AND a.pod = r.x_K8sPod
                     AND a.container = r.x_K8sContainer
  GROUP BY GROUPING SETS ((grp), ())),
qty AS (
  SELECT g.grp, grouping(g.grp) AS whole, sum(cpu_h) AS cpu_h, sum(ram_bh) AS ram_bh, sum(gpu_h) AS gpu_h
  FROM a LEFT JOIN node_group g ON g.node = a.node
  SEMI JOIN r ON a.day = r.day AND a.node = r.x_K8sNode AND a.ns = r.x_K8sNamespace AND a.pod = r.x_K8sPod
              AND a.container = r.x_K8sContainer
  GROUP BY GROUPING SETS ((g.grp), ()))
SELECT cost.grp, cost.whole = 1, e_cpu, l_cpu, e_ram, l_ram, e_gpu, l_gpu, lines, days,
       cpu_h, ram_bh, gpu_h
FROM cost JOIN qty ON cost.grp IS NOT DISTINCT FROM qty.grp AND cost.whole = qty.whole
"""

_NODES = """SELECT g.grp, grouping(g.grp) = 1, count(DISTINCT x_K8sNode)
FROM res LEFT JOIN node_group g ON g.node = res.x_K8sNode
WHERE x_K8sCostComponent = 'compute' AND x_K8sNode IS NOT NULL AND day = (SELECT max(day) FROM res)
GROUP BY GROUPING SETS ((g.grp), ())"""

_STORAGE = """
WITH r AS (
  SELECT day, x_K8sNamespace AS ns, x_K8sPod AS pod, SkuId AS sku, any_value(ChargeDescription) AS description,
         sum(EffectiveCost) AS e, sum(ListCost) AS l, list(DISTINCT (x_SourceKey, x_SourceRowId)) AS lines
  FROM res WHERE x_K8sCostComponent = 'pv' AND x_K8sAllocation IN ('workload', 'unmounted') GROUP BY ALL),
share AS (SELECT *, CASE WHEN sum(l) OVER (PARTITION BY day, ns, pod) > 0
                    THEN l / sum(l) OVER (PARTITION BY day, ns, pod) ELSE 1.0 END AS part FROM r),
a AS (SELECT day, ns, pod, sum(v.byte_hours) AS bh FROM (SELECT day, ns, pod, unnest(pvs) AS v FROM alloc) GROUP BY ALL)
SELECT sku, grouping(sku) = 1, any_value(description), sum(e), sum(l), sum(bh * part), count(DISTINCT line),
       count(DISTINCT day)
FROM (SELECT s.*, a.bh, unnest(s.lines) AS line FROM share s JOIN a USING (day, ns, pod))
GROUP BY GROUPING SETS ((sku), ()) ORDER BY 2, sku
"""

_LOAD_BALANCER = """
WITH c AS (SELECT sum(EffectiveCost) AS e, sum(ListCost) AS l, count(DISTINCT (x_SourceKey, x_SourceRowId)) AS lines,
                  count(DISTINCT day) AS days
           FROM res WHERE x_K8sCostComponent = 'load_balancer' AND x_K8sAllocation <> 'estimated'),
h AS (SELECT sum(epoch(window_end) - epoch(window_start)) / 3600.0 AS hours FROM (
        SELECT DISTINCT v.service, window_start, window_end
        FROM (SELECT window_start, window_end, unnest(load_balancers) AS v FROM alloc)))
SELECT e, l, lines, days, hours FROM c, h
"""

_BURST = """
SELECT sum(cpu_core_hours) FILTER (WHERE cpu_core_request_average > 0)
         / sum(cpu_core_request_average * minutes / 60) FILTER (WHERE cpu_core_request_average > 0),
       sum(ram_byte_hours) FILTER (WHERE ram_byte_request_average > 0)
         / sum(ram_byte_request_average * minutes / 60) FILTER (WHERE ram_byte_request_average > 0)
FROM alloc WHERE NOT sentinel
"""

_OVERHEAD = f"""
SELECT sum(EffectiveCost) FILTER (WHERE x_K8sAllocation IN {OVERHEAD_KINDS!r}),
       sum(ListCost) FILTER (WHERE x_K8sAllocation IN {OVERHEAD_KINDS!r}),
       sum(EffectiveCost) FILTER (WHERE x_K8sAllocation = 'workload'),
       sum(ListCost) FILTER (WHERE x_K8sAllocation = 'workload'),
       count(DISTINCT (x_SourceKey, x_SourceRowId)) FILTER (WHERE x_K8sAllocation IN {OVERHEAD_KINDS!r}),
       mode(BillingCurrency) FILTER (WHERE x_K8sAllocation = 'workload')
FROM res
"""


def price_book(results: pa.Table, allocation_files: list[str], *, cluster: str) -> PriceBook:
    """Learn the prices of one cluster from its result rows (RESULT_COLUMNS + day) and allocation files."""
    con = _connect(results, allocation_files)
    try:
        con.execute(_NODE_GROUP)
        counted = con.execute(_NODES).fetchall()
        nodes = {grp: int(n) for grp, whole, n in counted if not whole}
        whole_nodes = next((int(n) for _, whole, n in counted if whole), 0)
        groups: dict[str, Rates] = {}
        compute = Rates(NO_PRICE, NO_PRICE, NO_PRICE, whole_nodes)
        for grp, whole, e_cpu, l_cpu, e_ram, l_ram, e_gpu, l_gpu, lines, days, cpu_h, ram_bh, gpu_h in con.execute(
            _COMPUTE
        ).fetchall():
            rates = Rates(
                Price.of(e_cpu, l_cpu, cpu_h or 0.0, lines, days),
                Price.of(e_ram, l_ram, (ram_bh or 0.0) / GIB, lines, days),
                Price.of(e_gpu, l_gpu, gpu_h or 0.0, lines, days),
                whole_nodes if whole else nodes.get(grp, 0),
            )
            if whole:
                compute = rates
            elif grp is not None:
                groups[grp] = rates
        storage: list[StoragePrice] = []
        all_storage = NO_PRICE
        for sku, whole, description, e, li, bh, lines, days in con.execute(_STORAGE).fetchall():
            price = Price.of(e, li, (bh or 0.0) / GIB / HOURS_PER_MONTH, lines, days)
            if whole:
                all_storage = price
            else:
                storage.append(StoragePrice(sku or "", description or sku or "PV without a SKU", price))
        e, li, lines, days, hours = con.execute(_LOAD_BALANCER).fetchone()
        lb = Price.of(e or 0.0, li or 0.0, hours or 0.0, lines or 0, days or 0)
        oe, ol, we, wl, olines, currency = con.execute(_OVERHEAD).fetchone()
        overhead = Overhead((oe or 0.0) / we if we else 0.0, (ol or 0.0) / wl if wl else 0.0, olines or 0)
        cpu_burst, ram_burst = con.execute(_BURST).fetchone()
        burst = Burst(cpu_burst or 1.0, ram_burst or 1.0)
        day_list = sorted(set(results["day"].to_pylist()))
    finally:
        con.close()
    return PriceBook(cluster, currency or "", day_list, compute, groups, storage, all_storage, lb, overhead, burst)
