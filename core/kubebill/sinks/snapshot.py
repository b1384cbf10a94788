"""What the metrics show, computed once per result version: the latest day's costs in plain rows.

The window is the newest result day; where no result exists yet, the newest allocation day at list price
(BilledCost = EffectiveCost = 0, as the merge writes `estimated` rows). Efficiencies come from that day's
allocations; month-to-date sums from every result day of the window's month (cached per day and etag).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill import budgets, figures, log
from kubebill.layout import Layout
from kubebill.model import SENTINELS
from kubebill.reconcile import session
from kubebill.schema import RESULT, conform
from kubebill.sinks import costs
from kubebill.sinks.results import day_batches
from kubebill.sources import stored
from kubebill.store.base import ObjectInfo, Store

Money = tuple[float, float, float]  # billed, effective, list
_SENTINEL_SQL = ", ".join(f"'{name}'" for name in sorted(SENTINELS))
_ALLOCATION_COLUMNS = (
    "window_start",
    "window_end",
    "cluster",
    "node",
    "namespace",
    "controller_kind",
    "controller",
    "pod",
    "labels",
    "minutes",
    "cpu_core_request_average",
    "cpu_core_usage_average",
    "ram_byte_request_average",
    "ram_byte_usage_average",
    "cpu_cost",
    "ram_cost",
    "gpu_cost",
    "pv_cost",
    "network_cost",
    "load_balancer_cost",
    "shared_cost",
)


@dataclass
class Snapshot:
    """Aggregates of one window; amounts are totals over the window (rate mode divides by `hours`)."""

    source: str = "none"  # results, allocations or none
    day: date | None = None
    hours: float = 24.0
    result_days: int = 0
    cluster: list[tuple[str, str, str, Money]] = field(default_factory=list)  # cluster, currency, component
    namespace: list[tuple[str, str, str, str, Money]] = field(default_factory=list)  # + namespace
    allocation: list[tuple[str, str, str, Money]] = field(default_factory=list)  # cluster, currency, kind
    node: list[tuple[str, str, str, bool, Money]] = field(default_factory=list)  # cluster, node, currency, spot
    pv: list[tuple[str, str, str, str, Money]] = field(default_factory=list)  # cluster, namespace, pv, currency
    pod: list[tuple[str, str, str, str, str, str, Money]] = field(default_factory=list)  # c, ns, pod, node, cur, comp
    savings: list[tuple[str, str, str, str, float]] = field(default_factory=list)  # c, ns, currency, category
    budget: list[tuple[str, str, str, float]] = field(default_factory=list)  # cluster, namespace, currency
    budget_problems: list[str] = field(default_factory=list)  # budgets left out, and why (kubebill.budgets)
    origin: list[tuple[str, str, str, str, Money]] = field(default_factory=list)  # c, ns, cur, own|idle|shared|…
    month_to_date: list[tuple[str, str, Money]] = field(default_factory=list)  # cluster, currency
    efficiency: list[tuple[str, str | None, str, float]] = field(default_factory=list)  # c, ns|None, resource
    # cluster, namespace, currency: (export − cloud) / |cloud| of the day's cross-check (reconcile.compare)
    source_difference: list[tuple[str, str, str, float]] = field(default_factory=list)
    allocation_prefixes: tuple[str, ...] = ()


_log = log.get("metrics")
_DAY_TOTALS: dict[tuple[str, str], tuple[str, list[tuple[str, str, Money]]]] = {}


def _money(row: tuple) -> Money:  # type: ignore[type-arg]
    return (float(row[-3] or 0.0), float(row[-2] or 0.0), float(row[-1] or 0.0))


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def allocation_prefix(layout: Layout, cluster: str, day: date) -> str:
    return layout.allocation_key(cluster, day, "x").rsplit("/", 1)[0] + "/"


def read_allocations(store: Store, prefixes: tuple[str, ...]) -> tuple[pa.Table | None, tuple[tuple[str, str], ...]]:
    """The allocation files under `prefixes` (only the columns the metrics use), and their (key, etag)."""
    tables: list[pa.Table] = []
    seen: list[tuple[str, str]] = []
    for prefix in prefixes:
        for info in store.list(prefix):
            if not info.key.endswith(".parquet"):
                continue
            parquet = pq.ParquetFile(io.BytesIO(store.read_bytes(info.key)))
            columns = [name for name in _ALLOCATION_COLUMNS if name in parquet.schema_arrow.names]
            tables.append(parquet.read(columns=columns))
            seen.append((info.key, info.etag))
    if not tables:
        return None, tuple(seen)
    return pa.concat_tables(tables, promote_options="permissive"), tuple(seen)


def estimate_from_allocations(allocations: pa.Table) -> pa.Table:
    """RESULT-shaped rows at list price for allocations with no bill yet (one row per cost component)."""
    con = session.connect(threads=1)
    con.register("a", allocations)
    base = """window_start AS ChargePeriodStart, window_end AS ChargePeriodEnd, 'USD' AS BillingCurrency,
        0.0 AS BilledCost, 0.0 AS EffectiveCost, cluster AS x_K8sCluster, node AS x_K8sNode,
        namespace AS x_K8sNamespace, controller_kind AS x_K8sControllerKind, controller AS x_K8sController,
        pod AS x_K8sPod, labels AS x_K8sLabels,
        CASE namespace WHEN '__idle__' THEN 'idle' WHEN '__unallocated__' THEN 'unallocated'
             WHEN '__unmounted__' THEN 'unmounted' ELSE 'estimated' END AS x_K8sAllocation"""
    ratio = "/ nullif(coalesce(cpu_cost, 0) + coalesce(ram_cost, 0) + coalesce(gpu_cost, 0), 0)"
    parts = [
        f"""SELECT {base}, coalesce(cpu_cost, 0) + coalesce(ram_cost, 0) + coalesce(gpu_cost, 0) AS ListCost,
            'compute' AS x_K8sCostComponent, coalesce(cpu_cost, 0) {ratio} AS x_K8sCpuRatio,
            coalesce(ram_cost, 0) {ratio} AS x_K8sRamRatio, coalesce(gpu_cost, 0) {ratio} AS x_K8sGpuRatio FROM a"""
    ]
    for column, component in (
        ("pv_cost", "pv"),
        ("network_cost", "network"),
        ("load_balancer_cost", "load_balancer"),
        ("shared_cost", "shared"),
    ):
        parts.append(
            f"""SELECT {base}, coalesce({column}, 0) AS ListCost, '{component}' AS x_K8sCostComponent,
                NULL::DOUBLE AS x_K8sCpuRatio, NULL::DOUBLE AS x_K8sRamRatio, NULL::DOUBLE AS x_K8sGpuRatio
                FROM a WHERE coalesce({column}, 0) <> 0"""
        )
    return conform(con.sql(" UNION ALL ".join(parts)).to_arrow_table(), RESULT)


def _day_totals(store: Store, layout: Layout, day: date, info: ObjectInfo) -> list[tuple[str, str, Money]]:
    cache_key = (store.url, layout.result_parquet_key(day))
    cached = _DAY_TOTALS.get(cache_key)
    if cached and cached[0] == info.etag:
        return cached[1]
    con = session.connect(threads=1)
    con.register("r", day_batches(store, layout, day, ["x_K8sCluster", "BillingCurrency", *costs.COST_TYPES.values()]))
    rows = con.execute(
        """SELECT x_K8sCluster, BillingCurrency, sum(BilledCost), sum(EffectiveCost), sum(ListCost)
           FROM r WHERE x_K8sCluster IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    totals = [(str(r[0]), str(r[1] or ""), _money(r)) for r in rows]
    _DAY_TOTALS[cache_key] = (info.etag, totals)
    return totals


def _month_to_date(
    store: Store, layout: Layout, day: date, results: dict[date, ObjectInfo]
) -> list[tuple[str, str, Money]]:
    sums: dict[tuple[str, str], list[float]] = {}
    for other, info in results.items():
        if (other.year, other.month) != (day.year, day.month) or other > day:
            continue
        for cluster, currency, money in _day_totals(store, layout, other, info):
            acc = sums.setdefault((cluster, currency), [0.0, 0.0, 0.0])
            for i in range(3):
                acc[i] += money[i]
    return [(c, cur, (v[0], v[1], v[2])) for (c, cur), v in sorted(sums.items())]


def _budget_entries(store: Store, problems: list[str]) -> list[budgets.Budget]:
    try:
        return budgets.read(store)
    except budgets.BudgetError as exc:  # the labels' budgets still count
        problems.append(str(exc))
        return []


def build(store: Store, layout: Layout, results: dict[date, ObjectInfo], *, top_pods: int) -> Snapshot:
    """Aggregate the window (newest result day, else newest allocation day) into a Snapshot."""
    snap = Snapshot(result_days=len(results))
    entries = _budget_entries(store, snap.budget_problems)
    if results:
        snap.source, snap.day = "results", max(results)
        _aggregate(snap, day_batches(store, layout, snap.day, costs.PART_COLUMNS), top_pods=top_pods, entries=entries)
        snap.month_to_date = _month_to_date(store, layout, snap.day, results)
        # a cluster name that cannot be a partition value (a bill's odd tag) has no allocation folder
        clusters = sorted({row[0] for row in snap.cluster if row[0] and "/" not in row[0] and "=" not in row[0]})
        snap.allocation_prefixes = tuple(allocation_prefix(layout, cluster, snap.day) for cluster in clusters)
        allocations, _ = read_allocations(store, snap.allocation_prefixes)
    else:
        # no result yet: list every allocation, so a new one (any day) is a new version
        snap.allocation_prefixes = (layout.allocations_root(),)
        days = stored.by_day(store, layout)
        if not days:
            return snap
        snap.source, snap.day = "allocations", max(days)
        prefixes = tuple(sorted({info.key.rsplit("/", 1)[0] + "/" for info in days[snap.day]}))
        allocations, _ = read_allocations(store, prefixes)
        if allocations is None:
            return snap
        _aggregate(snap, estimate_from_allocations(allocations), top_pods=top_pods, entries=entries)
    if allocations is not None:
        snap.efficiency = efficiencies(allocations)
    for problem in snap.budget_problems:
        _log.error("budget left out", extra={"problem": problem})
    return snap


def _aggregate(
    snap: Snapshot, source: pa.Table | pa.RecordBatchReader, *, top_pods: int, entries: list[budgets.Budget]
) -> None:
    assert snap.day is not None
    con = costs.connect_compact(source)
    in_cluster = "x_K8sCluster IS NOT NULL"
    end = con.execute(f"SELECT max(ChargePeriodEnd) FROM parts WHERE {in_cluster}").fetchone()
    day_start = _day_start(snap.day)
    if end and end[0] is not None:
        covered = (min(end[0], day_start + timedelta(days=1)) - day_start).total_seconds() / 3600
        snap.hours = min(24.0, max(1.0, covered))
    snap.cluster = [
        (r[0], r[1] or "", r[2], _money(r)) for r in costs.by_component(con, ("x_K8sCluster",), where=in_cluster)
    ]
    snap.namespace = [
        (r[0], r[1] or "", r[2] or "", r[3], _money(r))
        for r in costs.by_component(con, ("x_K8sCluster", "x_K8sNamespace"), where=in_cluster)
    ]
    sums = "sum(billed), sum(effective), sum(list)"
    snap.allocation = [
        (r[0], r[1] or "", r[2] or "", _money(r))
        for r in con.execute(
            f"""SELECT x_K8sCluster, BillingCurrency, x_K8sAllocation, {sums} FROM parts
                WHERE {in_cluster} GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    ]
    snap.node = [
        (r[0], r[1], r[2] or "", bool(r[3]), _money(r))
        for r in con.execute(
            f"""SELECT x_K8sCluster, x_K8sNode, BillingCurrency, bool_or(PricingCategory = 'Dynamic'), {sums}
                FROM parts WHERE {in_cluster} AND x_K8sNode IS NOT NULL AND x_K8sCostComponent = 'compute'
                GROUP BY x_K8sCluster, x_K8sNode, BillingCurrency ORDER BY ALL"""
        ).fetchall()
    ]
    snap.pv = [
        (r[0], r[1] or "", r[2] or "", r[3] or "", _money(r))
        for r in con.execute(
            f"""SELECT x_K8sCluster, x_K8sNamespace, pv, BillingCurrency, {sums}
                FROM parts WHERE {in_cluster} AND x_K8sCostComponent = 'pv' GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    ]
    con.execute(
        f"""CREATE TEMP TABLE top_pods AS
            SELECT x_K8sCluster || '/' || x_K8sNamespace || '/' || x_K8sPod AS id, arg_max(x_K8sNode, billed) AS node
            FROM parts WHERE {in_cluster} AND x_K8sPod IS NOT NULL AND x_K8sPod NOT IN ({_SENTINEL_SQL})
              AND x_K8sNamespace IS NOT NULL
            GROUP BY id ORDER BY sum(billed) DESC, sum(list) DESC, id LIMIT {int(top_pods)}"""
    )
    nodes = dict(con.execute("SELECT id, node FROM top_pods").fetchall())
    where = f"{in_cluster} AND x_K8sCluster || '/' || x_K8sNamespace || '/' || x_K8sPod IN (SELECT id FROM top_pods)"
    snap.pod = [
        (r[0], r[1], r[2], nodes.get(f"{r[0]}/{r[1]}/{r[2]}") or "", r[3] or "", r[4], _money(r))
        for r in costs.by_component(con, ("x_K8sCluster", "x_K8sNamespace", "x_K8sPod"), where=where)
    ]
    snap.savings = [
        (r[0], r[1] or "", r[2] or "", costs.pricing_category(r[3]), float(r[4] or 0.0))
        for r in con.execute(
            f"""SELECT x_K8sCluster, x_K8sNamespace, BillingCurrency, PricingCategory, sum(list - effective)
                FROM parts WHERE {in_cluster} GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    ]
    snap.origin = [
        (r[0], r[1], r[2] or "", r[3], _money(r))
        for r in con.execute(
            f"""SELECT x_K8sCluster, x_K8sNamespace, BillingCurrency, {figures.origin_sql()}, {sums}
                FROM parts WHERE {in_cluster} AND x_K8sNamespace IS NOT NULL GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    ]
    resolved = budgets.resolve(con, "parts", entries, problems=snap.budget_problems).to_pylist()
    snap.budget = [(r["cluster"], r["namespace"], r["currency"], r["monthly_budget_cost"]) for r in resolved]
    con.close()


def efficiencies(allocations: pa.Table) -> list[tuple[str, str | None, str, float]]:
    """CPU, RAM and cost-weighted total efficiency (usage / request) per cluster and namespace."""
    con = session.connect(threads=1)
    con.register("a", allocations)
    rows = con.execute(
        f"""SELECT cluster, namespace,
              sum(cpu_core_usage_average * minutes) / nullif(sum(cpu_core_request_average * minutes), 0),
              sum(ram_byte_usage_average * minutes) / nullif(sum(ram_byte_request_average * minutes), 0),
              sum(coalesce(cpu_cost, 0)), sum(coalesce(ram_cost, 0)), grouping(namespace)
            FROM a WHERE namespace IS NULL OR namespace NOT IN ({_SENTINEL_SQL})
            GROUP BY GROUPING SETS ((cluster, namespace), (cluster)) ORDER BY ALL"""
    ).fetchall()
    out: list[tuple[str, str | None, str, float]] = []
    for cluster, namespace, cpu, ram, cpu_cost, ram_cost, whole_cluster in rows:
        if cluster is None:
            continue
        ns = None if whole_cluster else namespace or ""
        if cpu is not None:
            out.append((cluster, ns, "cpu", float(cpu)))
        if ram is not None:
            out.append((cluster, ns, "ram", float(ram)))
        weight = (cpu_cost or 0.0) * (cpu is not None) + (ram_cost or 0.0) * (ram is not None)
        if weight > 0:
            total = ((cpu or 0.0) * (cpu_cost or 0.0) + (ram or 0.0) * (ram_cost or 0.0)) / weight
            out.append((cluster, ns, "total", total))
    return out
