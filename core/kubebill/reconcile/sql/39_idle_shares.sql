-- DESIGN §4 Policies, idle sharing ($idle_share): each `__idle__` slice (a node line's idle row) handed to the
-- namespaces of its scope ($idle_share_scope): `node`, those on its node in the same bill line, `weighted` by
-- their share of it; `cluster`, those of the cluster's day, `weighted` by their BilledCost there; `even`,
-- equally. No weight: equally; no namespace in scope: the slice stays `__idle__`. `part` is the share of the
-- slice each receives.
WITH origin AS (
  SELECT r.lid AS lid, r.tno AS tno, t.cluster AS cluster, t.node AS node, t.namespace AS from_namespace
  FROM result_rows r
  JOIN targets t ON t.tno = r.tno
  WHERE $idle_share <> 'none' AND t.kind = 'idle' AND r.ratio > 0
), cluster_costs AS (
  SELECT cluster, namespace, greatest(sum(cost), 0) AS w
  FROM namespace_rows
  WHERE $idle_share_scope = 'cluster'
  GROUP BY cluster, namespace
), weights AS (
  SELECT o.lid AS lid, o.tno AS tno, o.cluster AS cluster, o.node AS node, o.from_namespace AS from_namespace,
         n.namespace AS namespace, n.ratio AS w
  FROM origin o
  JOIN namespace_rows n ON n.lid = o.lid AND n.node = o.node
  WHERE $idle_share_scope = 'node'
  UNION ALL
  SELECT o.lid AS lid, o.tno AS tno, o.cluster AS cluster, o.node AS node, o.from_namespace AS from_namespace,
         c.namespace AS namespace, c.w AS w
  FROM origin o
  JOIN cluster_costs c ON c.cluster = o.cluster
), parts AS (
  SELECT lid, tno, cluster, node, from_namespace, namespace, w,
         CASE WHEN $idle_share = 'even' OR sum(w) OVER (PARTITION BY lid, tno) <= 0
              THEN 1.0 / count(*) OVER (PARTITION BY lid, tno)
              ELSE w / sum(w) OVER (PARTITION BY lid, tno) END AS part,
         CASE WHEN $idle_share = 'even' OR sum(w) OVER (PARTITION BY lid, tno) <= 0 THEN 'Count'
              WHEN $idle_share_scope = 'node' THEN 'AllocatedRatio'
              ELSE 'BilledCost' END AS unit
  FROM weights
)
SELECT x.lid AS lid, x.tno AS tno,
       xxhash64(x.comp, x.cluster, x.node, x.namespace, x.controller_kind, x.controller, x.pod, x.container,
                x.kind, x.method) AS tid,
       x.comp AS comp, x.cluster AS cluster, x.node AS node, x.namespace AS namespace,
       x.controller_kind AS controller_kind, x.controller AS controller, x.pod AS pod, x.container AS container,
       x.kind AS kind, x.method AS method, x.labels AS labels, x.part AS part, x.unit AS unit, x.qty AS qty,
       x.from_kind AS from_kind, x.from_namespace AS from_namespace
FROM (SELECT lid, tno, CAST('idle' AS VARCHAR) AS comp, CAST(cluster AS VARCHAR) AS cluster,
             CAST(node AS VARCHAR) AS node, CAST(namespace AS VARCHAR) AS namespace,
             CAST(NULL AS VARCHAR) AS controller_kind, CAST(NULL AS VARCHAR) AS controller,
             CAST(NULL AS VARCHAR) AS pod, CAST(NULL AS VARCHAR) AS container, CAST('idle' AS VARCHAR) AS kind,
             CAST('idle-share-' || $idle_share AS VARCHAR) AS method, CAST(NULL AS VARCHAR) AS labels,
             CAST(part AS DOUBLE) AS part, CAST(unit AS VARCHAR) AS unit,
             CAST(CASE WHEN unit = 'Count' THEN 1.0 ELSE w END AS DOUBLE) AS qty,
             CAST('idle' AS VARCHAR) AS from_kind, CAST(from_namespace AS VARCHAR) AS from_namespace
      FROM parts) x
