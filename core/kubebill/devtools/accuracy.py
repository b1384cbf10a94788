"""kubebill's result against the simulator's ground truth, per cluster, namespace and UTC day.

Truth (``ground_truth.parquet``) is computed from the generative model, never from the files; a perfect
merge reproduces it. Rows: cluster, namespace, day, and per cost column kubebill's value, the truth and the
error relative to the namespace's true cost. Estimated rows (no bill yet) are left out: they are not cost.
"""

from __future__ import annotations

import pyarrow as pa

from kubebill.reconcile import session

COLUMNS = ("BilledCost", "EffectiveCost")
TOLERANCE = 0.005  # |kubebill − truth| ≤ 0.5% of the namespace's cost
ABSOLUTE = 1e-9  # a namespace whose true cost is zero may differ by float noise only


def compare(results: pa.Table, truth: pa.Table, *, columns: tuple[str, ...] = COLUMNS) -> pa.Table:
    """One row per (cluster, namespace, day) of either side, with kubebill, truth and relative error per column."""
    con = session.connect()
    try:
        con.register("r", results)
        con.register("t", truth)
        sums_r = ", ".join(f"sum({c}) AS {c}" for c in columns)
        sums_t = ", ".join(f"sum({c}) AS {c}" for c in columns)
        pairs = ", ".join(
            f"coalesce(k.{c}, 0) AS kubebill_{c}, coalesce(g.{c}, 0) AS truth_{c}, "
            f"abs(coalesce(k.{c}, 0) - coalesce(g.{c}, 0)) / nullif(abs(coalesce(g.{c}, 0)), 0) AS error_{c}"
            for c in columns
        )
        return con.sql(
            f"""
            WITH k AS (SELECT x_K8sCluster AS cluster, x_K8sNamespace AS namespace,
                              CAST(ChargePeriodStart AS DATE) AS day, {sums_r}
                       FROM r WHERE x_K8sCluster IS NOT NULL AND x_K8sAllocation <> 'estimated' GROUP BY ALL),
                 g AS (SELECT cluster, namespace, day, {sums_t} FROM t WHERE cluster IS NOT NULL GROUP BY ALL)
            SELECT coalesce(k.cluster, g.cluster) AS cluster, coalesce(k.namespace, g.namespace) AS namespace,
                   coalesce(k.day, g.day) AS day, {pairs}
            FROM k FULL JOIN g ON k.cluster = g.cluster AND k.namespace IS NOT DISTINCT FROM g.namespace
                               AND k.day = g.day
            ORDER BY 1, 3, 2"""
        ).to_arrow_table()
    finally:
        con.close()


def failures(table: pa.Table, *, columns: tuple[str, ...] = COLUMNS, tolerance: float = TOLERANCE) -> list[str]:
    """A line per (cluster, namespace, day, column) off by more than `tolerance` of the true cost."""
    out = []
    for row in table.to_pylist():
        for c in columns:
            ours, truth = row[f"kubebill_{c}"], row[f"truth_{c}"]
            if abs(ours - truth) > tolerance * abs(truth) + ABSOLUTE:
                out.append(
                    f"{row['cluster']}/{row['namespace']} {row['day']} {c}: kubebill {ours:.6f}, truth {truth:.6f}"
                )
    return out


def worst(table: pa.Table, column: str) -> float:
    """The largest relative error of a column over rows with a non-zero true cost."""
    values = [v for v in table.column(f"error_{column}").to_pylist() if v is not None]
    return max(values, default=0.0)
