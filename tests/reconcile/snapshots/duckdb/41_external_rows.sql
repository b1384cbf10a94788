-- DESIGN §4 Policies, out-of-cluster costs by tag ($namespace_tags): a `not_kubernetes` line whose tags name a
-- namespace (`policy_values` `namespace_tag`, the first key of the list the line carries) goes to that namespace
-- of the cluster its tags name (`cluster_tag`), else spread over the clusters running the namespace that day by
-- its BilledCost in each (no weight: equally; no such cluster: it stays `not_kubernetes`).
WITH origin AS (
  SELECT r.lid AS lid, r.tno AS tno, l.Tags AS tags
  FROM result_rows r
  JOIN bill_lines l ON l.lid = r.lid
  WHERE $namespace_tags <> '' AND r.kind = 'not_kubernetes'
), named AS (
  SELECT lid, tno, tags, namespace
  FROM (SELECT o.lid AS lid, o.tno AS tno, o.tags AS tags, p.value AS namespace,
               row_number() OVER (PARTITION BY o.lid, o.tno ORDER BY p.rank) AS k
        FROM origin o
        JOIN policy_values p ON p.json = o.tags AND p.setting = 'namespace_tag') f
  WHERE k = 1
), tagged_cluster AS (
  SELECT json, value AS cluster
  FROM (SELECT json, value, row_number() OVER (PARTITION BY json ORDER BY rank) AS k
        FROM policy_values WHERE setting = 'cluster_tag') f
  WHERE k = 1
), costs AS (
  SELECT cluster, namespace, greatest(sum(cost), 0) AS w
  FROM namespace_rows
  GROUP BY cluster, namespace
), weights AS (
  SELECT c.cluster AS cluster, c.namespace AS namespace, c.w AS w,
         CASE WHEN tot.w <= 0 THEN 1.0 / tot.n ELSE c.w / tot.w END AS part,
         CASE WHEN tot.w <= 0 THEN 'Count' ELSE 'BilledCost' END AS unit
  FROM costs c
  JOIN (SELECT namespace, sum(w) AS w, count(*) AS n FROM costs GROUP BY namespace) tot
    ON tot.namespace = c.namespace
), receivers AS (
  SELECT n.lid AS lid, n.tno AS tno, coalesce(k.cluster, tc.cluster) AS cluster, n.namespace AS namespace,
         1.0 AS part, 'Count' AS unit, 1.0 AS qty
  FROM named n
  JOIN tagged_cluster tc ON tc.json = n.tags
  LEFT JOIN (SELECT DISTINCT cluster FROM namespace_rows) k ON lower(k.cluster) = lower(tc.cluster)
  UNION ALL
  SELECT n.lid AS lid, n.tno AS tno, w.cluster AS cluster, n.namespace AS namespace, w.part AS part,
         w.unit AS unit, CASE WHEN w.unit = 'Count' THEN 1.0 ELSE w.w END AS qty
  FROM named n
  JOIN weights w ON w.namespace = n.namespace
  WHERE NOT EXISTS (SELECT 1 FROM tagged_cluster t WHERE t.json = n.tags)
)
SELECT x.lid AS lid, x.tno AS tno,
       xxhash64(x.comp, x.cluster, x.node, x.namespace, x.controller_kind, x.controller, x.pod, x.container,
                x.kind, x.method) AS tid,
       x.comp AS comp, x.cluster AS cluster, x.node AS node, x.namespace AS namespace,
       x.controller_kind AS controller_kind, x.controller AS controller, x.pod AS pod, x.container AS container,
       x.kind AS kind, x.method AS method, x.labels AS labels, x.part AS part, x.unit AS unit, x.qty AS qty,
       x.from_kind AS from_kind, x.from_namespace AS from_namespace
FROM (SELECT lid, tno, CAST('external' AS VARCHAR) AS comp, CAST(cluster AS VARCHAR) AS cluster,
             CAST(NULL AS VARCHAR) AS node, CAST(namespace AS VARCHAR) AS namespace,
             CAST(NULL AS VARCHAR) AS controller_kind, CAST(NULL AS VARCHAR) AS controller,
             CAST(NULL AS VARCHAR) AS pod, CAST(NULL AS VARCHAR) AS container,
             CAST('external' AS VARCHAR) AS kind, CAST('namespace-tag' AS VARCHAR) AS method,
             CAST(NULL AS VARCHAR) AS labels, CAST(part AS DOUBLE) AS part, CAST(unit AS VARCHAR) AS unit,
             CAST(qty AS DOUBLE) AS qty, CAST('not_kubernetes' AS VARCHAR) AS from_kind,
             CAST(NULL AS VARCHAR) AS from_namespace
      FROM receivers) x
