/* DESIGN §4 Policies, shared namespaces and overhead ($shared_spread): the rows of the shared targets, the */
/* cluster's `__shared__` rows (`even`; `weighted` spread them by list cost already) and those a spread gave a */
/* shared namespace, handed to the other namespaces of the cluster's day: `weighted` by their BilledCost, `even` */
/* equally (no weight: equally; no other namespace: they stay). `part` is the share of the row each receives. */
WITH origin AS (
  SELECT
    r.lid AS lid,
    r.tno AS tno,
    t.cluster AS cluster,
    t.node AS node,
    t.kind AS from_kind,
    t.namespace AS from_namespace
  FROM result_rows AS r
  JOIN targets AS t
    ON t.tno = r.tno
  LEFT JOIN (
    SELECT DISTINCT
      tno
    FROM shared_targets
  ) AS s
    ON s.tno = r.tno
  WHERE
    :shared_spread <> 'none'
    AND NOT t.cluster IS NULL
    AND (
      NOT s.tno IS NULL
      OR (
        t.kind = 'shared'
        AND (
          (
            t.namespace = '__shared__' AND :shared_spread = 'even'
          )
          OR LOCATE(',' || t.namespace || ',', ',' || :shared_namespaces || ',') > 0
        )
      )
    )
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
    CASE
      WHEN :shared_spread = 'even' OR tot.w <= 0
      THEN 1.0 / tot.n
      ELSE c.w / tot.w
    END AS part,
    CASE WHEN :shared_spread = 'even' OR tot.w <= 0 THEN 'Count' ELSE 'BilledCost' END AS unit
  FROM costs AS c
  JOIN (
    SELECT
      cluster,
      SUM(w) AS w,
      COUNT(*) AS n
    FROM costs
    GROUP BY
      cluster
  ) AS tot
    ON tot.cluster = c.cluster
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
    o.lid AS lid,
    o.tno AS tno,
    CAST('shared' AS STRING) AS comp,
    CAST(o.cluster AS STRING) AS cluster,
    CAST(o.node AS STRING) AS node,
    CAST(w.namespace AS STRING) AS namespace,
    CAST(NULL AS STRING) AS controller_kind,
    CAST(NULL AS STRING) AS controller,
    CAST(NULL AS STRING) AS pod,
    CAST(NULL AS STRING) AS container,
    CAST('shared' AS STRING) AS kind,
    CAST('shared-' || :shared_spread AS STRING) AS method,
    CAST(NULL AS STRING) AS labels,
    CAST(w.part AS DOUBLE) AS part,
    CAST(w.unit AS STRING) AS unit,
    CAST(CASE WHEN w.unit = 'Count' THEN 1.0 ELSE w.w END AS DOUBLE) AS qty,
    CAST(o.from_kind AS STRING) AS from_kind,
    CAST(o.from_namespace AS STRING) AS from_namespace
  FROM origin AS o
  JOIN weights AS w
    ON w.cluster = o.cluster
) AS x
