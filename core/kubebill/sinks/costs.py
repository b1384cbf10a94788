"""Cost of result rows by component (cpu, ram, gpu, pv, …), the SQL the metrics and reports share.

A result row becomes one "part" per component: compute rows split by their CPU/RAM/GPU ratios (the rest is
`other`), idle rows are `idle` whatever they paid for, pv/load_balancer/network/shared rows keep their
component. Parts of a row sum to the row, so every group's components sum to its `total`.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from kubebill.reconcile import session

COMPONENTS = ("cpu", "ram", "gpu", "pv", "network", "load_balancer", "shared", "idle", "other")
COST_TYPES = {"billed": "BilledCost", "effective": "EffectiveCost", "list": "ListCost"}
PRICING = {"Dynamic": "spot", "Committed": "committed", "Standard": "standard"}

_PART = """
CASE
  WHEN x_K8sAllocation = 'idle' THEN [{'c': 'idle', 'w': 1.0::DOUBLE}]
  WHEN x_K8sCostComponent = 'compute' AND x_K8sCpuRatio IS NOT NULL THEN [
    {'c': 'cpu', 'w': x_K8sCpuRatio},
    {'c': 'ram', 'w': coalesce(x_K8sRamRatio, 0.0)},
    {'c': 'gpu', 'w': coalesce(x_K8sGpuRatio, 0.0)},
    {'c': 'other', 'w': 1.0 - x_K8sCpuRatio - coalesce(x_K8sRamRatio, 0.0) - coalesce(x_K8sGpuRatio, 0.0)}]
  WHEN x_K8sCostComponent IN ('pv', 'load_balancer', 'network', 'shared')
    THEN [{'c': x_K8sCostComponent, 'w': 1.0::DOUBLE}]
  ELSE [{'c': 'other', 'w': 1.0::DOUBLE}]
END
"""

# Columns the parts view needs from a RESULT table (reports add grouping columns of their own).
PART_COLUMNS = (
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "PricingCategory",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "x_K8sCluster",
    "x_K8sNode",
    "x_K8sNamespace",
    "x_K8sControllerKind",
    "x_K8sController",
    "x_K8sPod",
    "x_K8sLabels",
    "x_K8sAllocation",
    "x_K8sCostComponent",
    "x_K8sCpuRatio",
    "x_K8sRamRatio",
    "x_K8sGpuRatio",
    "ResourceId",
    "ResourceName",
)


def connect(results: pa.Table) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with `results` (RESULT rows) and `parts` (one row per component of a row)."""
    con = session.connect(threads=1)
    con.register("results", results)
    con.execute(
        f"""
        CREATE TEMP VIEW parts AS
        SELECT r.* EXCLUDE (part), part.c AS component,
               BilledCost * part.w AS billed, EffectiveCost * part.w AS effective, ListCost * part.w AS list
        FROM (SELECT *, unnest({_PART}) AS part FROM results) AS r
        WHERE part.w <> 0
        """
    )
    return con


COMPACT_KEYS = (
    "x_K8sCluster",
    "x_K8sNode",
    "x_K8sNamespace",
    "x_K8sPod",
    "x_K8sLabels",
    "x_K8sAllocation",
    "x_K8sCostComponent",
    "PricingCategory",
    "BillingCurrency",
)


def connect_compact(source: pa.Table | pa.RecordBatchReader) -> duckdb.DuckDBPyConnection:
    """A DuckDB whose `parts` table is summed over time: one row per pod, node, allocation, pricing, PV and
    component however many hourly rows `source` has, so a 10,000-pod day streams through in little memory."""
    con = session.connect(threads=1)
    con.register("raw", source)
    keys = ", ".join(COMPACT_KEYS)
    con.execute(
        f"""
        CREATE TEMP TABLE parts AS
        SELECT {keys}, CASE WHEN x_K8sCostComponent = 'pv' THEN coalesce(ResourceName, ResourceId) END AS pv,
               part.c AS component, sum(BilledCost * part.w) AS billed, sum(EffectiveCost * part.w) AS effective,
               sum(ListCost * part.w) AS list, max(ChargePeriodEnd) AS ChargePeriodEnd
        FROM (SELECT {keys}, ResourceName, ResourceId, BilledCost, EffectiveCost, ListCost, ChargePeriodEnd,
                     unnest({_PART}) AS part FROM raw)
        WHERE part.w <> 0
        GROUP BY ALL
        """
    )
    con.unregister("raw")
    return con


def by_component(con: duckdb.DuckDBPyConnection, keys: tuple[str, ...], *, where: str = "TRUE") -> list[tuple]:  # type: ignore[type-arg]
    """Rows (*keys, currency, component, billed, effective, list), with component `total` per group."""
    key_list = ", ".join(keys)
    return con.execute(
        f"""
        SELECT {key_list}, BillingCurrency, coalesce(component, 'total'),
               sum(billed), sum(effective), sum(list)
        FROM parts WHERE {where}
        GROUP BY GROUPING SETS (({key_list}, BillingCurrency, component), ({key_list}, BillingCurrency))
        ORDER BY ALL
        """
    ).fetchall()


def pricing_category(raw: str | None) -> str:
    """FOCUS PricingCategory as a metric label: spot, committed, standard or other."""
    return PRICING.get(raw or "", "other")
