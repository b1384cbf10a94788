/* DESIGN §4 Policies, out-of-cluster costs by tag ($namespace_tags): a `not_kubernetes` line whose tags name a */
/* namespace (`policy_values` `namespace_tag`, the first key of the list the line carries) goes to that namespace */
/* of the cluster its tags name (`cluster_tag`), else spread over the clusters running the namespace that day by */
/* its BilledCost in each (no weight: equally; no such cluster: it stays `not_kubernetes`). */
WITH origin AS (
  SELECT
    r.lid AS lid,
    r.tno AS tno,
    l.Tags AS tags
  FROM result_rows AS r
  JOIN bill_lines AS l
    ON l.lid = r.lid
  WHERE
    :namespace_tags <> '' AND r.kind = 'not_kubernetes'
), named AS (
  SELECT
    lid,
    tno,
    tags,
    namespace
  FROM (
    SELECT
      o.lid AS lid,
      o.tno AS tno,
      o.tags AS tags,
      p.value AS namespace,
      ROW_NUMBER() OVER (PARTITION BY o.lid, o.tno ORDER BY p.rank NULLS LAST) AS k
    FROM origin AS o
    JOIN policy_values AS p
      ON p.json = o.tags AND p.setting = 'namespace_tag'
  ) AS f
  WHERE
    k = 1
), tagged_cluster AS (
  SELECT
    json,
    value AS cluster
  FROM (
    SELECT
      json,
      value,
      ROW_NUMBER() OVER (PARTITION BY json ORDER BY rank NULLS LAST) AS k
    FROM policy_values
    WHERE
      setting = 'cluster_tag'
  ) AS f
  WHERE
    k = 1
), costs AS (
  SELECT
    cluster,
    namespace,
    GREATEST(SUM(cost), 0) AS w
  FROM namespace_rows
  GROUP BY
    cluster,
    namespace
), weights AS (
  SELECT
    c.cluster AS cluster,
    c.namespace AS namespace,
    c.w AS w,
    CASE WHEN tot.w <= 0 THEN 1.0 / tot.n ELSE c.w / tot.w END AS part,
    CASE WHEN tot.w <= 0 THEN 'Count' ELSE 'BilledCost' END AS unit
  FROM costs AS c
  JOIN (
    SELECT
      namespace,
      SUM(w) AS w,
      COUNT(*) AS n
    FROM costs
    GROUP BY
      namespace
  ) AS tot
    ON tot.namespace = c.namespace
), receivers AS (
  SELECT
    n.lid AS lid,
    n.tno AS tno,
    COALESCE(k.cluster, tc.cluster) AS cluster,
    n.namespace AS namespace,
    1.0 AS part,
    'Count' AS unit,
    1.0 AS qty
  FROM named AS n
  JOIN tagged_cluster AS tc
    ON tc.json = n.tags
  LEFT JOIN (
    SELECT DISTINCT
      cluster
    FROM namespace_rows
  ) AS k
    ON LOWER(k.cluster) = LOWER(tc.cluster)
  UNION ALL
  SELECT
    n.lid AS lid,
    n.tno AS tno,
    w.cluster AS cluster,
    n.namespace AS namespace,
    w.part AS part,
    w.unit AS unit,
    CASE WHEN w.unit = 'Count' THEN 1.0 ELSE w.w END AS qty
  FROM named AS n
  JOIN weights AS w
    ON w.namespace = n.namespace
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM tagged_cluster AS t
      WHERE
        t.json = n.tags
    )
)
SELECT
  x.lid AS lid,
  x.tno AS tno,
  XXHASH64(
    x.comp,
    x.cluster,
    x.node,
    x.namespace,
    x.controller_kind,
    x.controller,
    x.pod,
    x.container,
    x.kind,
    x.method
  ) AS tid,
  x.comp AS comp,
  x.cluster AS cluster,
  x.node AS node,
  x.namespace AS namespace,
  x.controller_kind AS controller_kind,
  x.controller AS controller,
  x.pod AS pod,
  x.container AS container,
  x.kind AS kind,
  x.method AS method,
  x.labels AS labels,
  x.part AS part,
  x.unit AS unit,
  x.qty AS qty,
  x.from_kind AS from_kind,
  x.from_namespace AS from_namespace
FROM (
  SELECT
    lid,
    tno,
    CAST('external' AS STRING) AS comp,
    CAST(cluster AS STRING) AS cluster,
    CAST(NULL AS STRING) AS node,
    CAST(namespace AS STRING) AS namespace,
    CAST(NULL AS STRING) AS controller_kind,
    CAST(NULL AS STRING) AS controller,
    CAST(NULL AS STRING) AS pod,
    CAST(NULL AS STRING) AS container,
    CAST('external' AS STRING) AS kind,
    CAST('namespace-tag' AS STRING) AS method,
    CAST(NULL AS STRING) AS labels,
    CAST(part AS DOUBLE) AS part,
    CAST(unit AS STRING) AS unit,
    CAST(qty AS DOUBLE) AS qty,
    CAST('not_kubernetes' AS STRING) AS from_kind,
    CAST(NULL AS STRING) AS from_namespace
  FROM receivers
) AS x
