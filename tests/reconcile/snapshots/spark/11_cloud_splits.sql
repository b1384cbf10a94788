/* DESIGN §4 Allocation sources, the cloud's split of the clusters it is used for: AWS split cost allocation rows */
/* split their parent instance's lines by their split costs, the parent's unused cost to the node's `__idle__`; a */
/* GKE cost-allocation line goes to its namespace (GKE's unallocated as `__idle__`, its overhead as `system`) under */
/* a key of its own. `nkey` is the node's bill key: the allocation export's rows of that node give way. */
WITH s AS (
  SELECT
    x_CloudSplit AS x,
    ChargePeriodStart AS ws,
    COALESCE(ChargePeriodEnd, ChargePeriodStart + INTERVAL '1' HOUR) AS we
  FROM cost_in
  WHERE
    ChargePeriodStart >= :day_start
    AND ChargePeriodStart < :day_end
    AND LOWER(x_CloudSplit.cluster) IN (
      SELECT
        lc
      FROM cloud_clusters
    )
)
SELECT
  x.parent AS skey,
  x.parent AS nkey,
  'compute' AS comp,
  ws,
  we,
  'aws-scad' AS source,
  x.cluster AS cluster,
  x.node AS node,
  x.namespace AS namespace,
  x.controller_kind AS controller_kind,
  x.controller AS controller,
  x.pod AS pod,
  CAST(NULL AS STRING) AS container,
  x.labels AS labels,
  'workload' AS kind,
  SUM(GREATEST(COALESCE(x.split_cost, 0), 0)) AS wc,
  0.0 AS wr,
  0.0 AS wg,
  1.0 AS f,
  0.0 AS list_cost,
  'aws-split-cost-allocation-data' AS method
FROM s
WHERE
  NOT x.parent IS NULL
GROUP BY
  x.parent,
  ws,
  we,
  x.cluster,
  x.node,
  x.namespace,
  x.controller_kind,
  x.controller,
  x.pod,
  x.labels
UNION ALL
SELECT
  x.parent AS skey,
  x.parent AS nkey,
  'compute' AS comp,
  ws,
  we,
  'aws-scad' AS source,
  MIN(x.cluster) AS cluster,
  MIN(x.node) AS node,
  '__idle__' AS namespace,
  CAST(NULL AS STRING) AS controller_kind,
  CAST(NULL AS STRING) AS controller,
  '__idle__' AS pod,
  CAST(NULL AS STRING) AS container,
  CAST(NULL AS STRING) AS labels,
  'idle' AS kind,
  SUM(GREATEST(COALESCE(x.unused_cost, 0), 0)) AS wc,
  0.0 AS wr,
  0.0 AS wg,
  0.0 AS f,
  0.0 AS list_cost,
  'aws-split-cost-allocation-data' AS method
FROM s
WHERE
  NOT x.parent IS NULL
GROUP BY
  x.parent,
  ws,
  we
UNION ALL
SELECT DISTINCT
  (
    'gke:' || LOWER(x.cluster) || '/' || COALESCE(x.node, '') || '/' || COALESCE(x.namespace, '')
  ) AS skey,
  x.node AS nkey,
  'compute' AS comp,
  ws,
  we,
  'gke' AS source,
  x.cluster AS cluster,
  x.node AS node,
  x.namespace AS namespace,
  CAST(NULL AS STRING) AS controller_kind,
  CAST(NULL AS STRING) AS controller,
  CAST(NULL AS STRING) AS pod,
  CAST(NULL AS STRING) AS container,
  x.labels AS labels,
  CASE
    WHEN x.namespace = '__idle__'
    THEN 'idle'
    WHEN x.namespace IS NULL
    THEN 'system'
    ELSE 'workload'
  END AS kind,
  1.0 AS wc,
  0.0 AS wr,
  0.0 AS wg,
  1.0 AS f,
  0.0 AS list_cost,
  'gke-cost-allocation' AS method
FROM s
WHERE
  x.parent IS NULL
