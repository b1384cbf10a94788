"""The cross-check of an allocation export against the cloud's own split (`kubebill report --compare cloud`).

Where an allocation export and the cloud's split (AWS split cost allocation data, GKE cost allocation) both cover
a cluster and day, the merge splits the day a second time by the source that did not win, and compares, per
namespace, the EffectiveCost each source gives the lines the cloud splits (the node lines): `kubebill` the split
from the allocation export, `cloud` the cloud's. Only those lines: volumes, load balancers and shared lines are
the export's alone. One table per day, written beside the result (`Layout.compare_key`).
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from kubebill.reconcile import session

CLOUD_METHODS = ("aws-split-cost-allocation-data", "gke-cost-allocation")

COMPARE = pa.schema(
    [
        pa.field("day", pa.date32()),
        pa.field("cluster", pa.string()),
        pa.field("namespace", pa.string()),
        pa.field("BillingCurrency", pa.string()),
        pa.field("kubebill_cost", pa.float64()),  # EffectiveCost by the allocation export's split
        pa.field("cloud_cost", pa.float64()),  # EffectiveCost by the cloud's own split
        pa.field("difference", pa.float64()),  # kubebill − cloud
        pa.field("difference_ratio", pa.float64()),  # (kubebill − cloud) / |cloud|; null when the cloud says 0
    ]
)


def compare(export: pa.Table | str, cloud: pa.Table | str, *, day: date, clusters: list[str]) -> pa.Table:
    """Per (cluster, namespace, currency) of `clusters` (lower-cased), the two sources' EffectiveCost of the lines
    the cloud split; `export` and `cloud` are RESULT rows of the day (a table or a Parquet file)."""
    con = session.connect()
    try:
        for name, data in (("e", export), ("c", cloud)):
            if isinstance(data, str):
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet(?)".replace("?", _quoted(data)))
            else:
                con.register(name, data)
        methods = ", ".join(f"'{m}'" for m in CLOUD_METHODS)
        con.execute(
            f"""
            CREATE TEMP TABLE found AS
            WITH lines AS (SELECT DISTINCT x_SourceKey, x_SourceRowId FROM c
                           WHERE AllocatedMethodId IN ({methods}) AND list_contains(?, lower(x_K8sCluster))),
                 k AS (SELECT lower(e.x_K8sCluster) AS lc, min(e.x_K8sCluster) AS cluster, e.x_K8sNamespace AS ns,
                              e.BillingCurrency AS cur, sum(e.EffectiveCost) AS cost
                       FROM e JOIN lines USING (x_SourceKey, x_SourceRowId) GROUP BY lc, ns, cur),
                 g AS (SELECT lower(c.x_K8sCluster) AS lc, min(c.x_K8sCluster) AS cluster, c.x_K8sNamespace AS ns,
                              c.BillingCurrency AS cur, sum(c.EffectiveCost) AS cost
                       FROM c JOIN lines USING (x_SourceKey, x_SourceRowId) GROUP BY lc, ns, cur)
            SELECT CAST(? AS DATE) AS day, coalesce(k.cluster, g.cluster) AS cluster, coalesce(k.ns, g.ns) AS namespace,
                   coalesce(k.cur, g.cur) AS BillingCurrency, coalesce(k.cost, 0) AS kubebill_cost,
                   coalesce(g.cost, 0) AS cloud_cost, coalesce(k.cost, 0) - coalesce(g.cost, 0) AS difference,
                   (coalesce(k.cost, 0) - coalesce(g.cost, 0)) / nullif(abs(coalesce(g.cost, 0)), 0)
                     AS difference_ratio
            FROM k FULL JOIN g
              ON k.lc = g.lc AND k.ns IS NOT DISTINCT FROM g.ns AND k.cur IS NOT DISTINCT FROM g.cur""",
            [clusters, day],
        )
        return con.sql("SELECT * FROM found ORDER BY 2, 3, 4").to_arrow_table().cast(COMPARE)
    finally:
        con.close()


def _quoted(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"
