/* DESIGN §4 Policies, shared spread `weighted`: a cluster's shared line spread over its namespaces by their list */
/* cost overlapping the line (`__shared__` of each namespace). */
SELECT
  x.lid AS lid,
  x.w AS w,
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
  x.labels AS labels
FROM (
  SELECT
    w.lid AS lid,
    w.w AS w,
    CAST('shared' AS STRING) AS comp,
    CAST(u.cluster AS STRING) AS cluster,
    CAST(NULL AS STRING) AS node,
    CAST(w.namespace AS STRING) AS namespace,
    CAST(NULL AS STRING) AS controller_kind,
    CAST(NULL AS STRING) AS controller,
    CAST('__shared__' AS STRING) AS pod,
    CAST(NULL AS STRING) AS container,
    CAST('shared' AS STRING) AS kind,
    CAST('kubebill-shared-weighted' AS STRING) AS method,
    CAST(NULL AS STRING) AS labels
  FROM (
    SELECT
      u.lid AS lid,
      a.namespace AS namespace,
      SUM(
        GREATEST(COALESCE(a.total_cost, 0), 0) * (
          LEAST(a.we_s, u.ce, (
            a.hb + 1
          ) * 3600.0) - GREATEST(a.ws_s, u.cs, a.hb * 3600.0)
        ) / (
          a.we_s - a.ws_s
        )
      ) AS w
    FROM (
      SELECT
        lid,
        cluster,
        UNIX_TIMESTAMP(cps) AS cs,
        UNIX_TIMESTAMP(cpe) AS ce,
        EXPLODE(
          SEQUENCE(
            CAST(FLOOR(UNIX_TIMESTAMP(cps) / 3600) AS BIGINT),
            CAST(CEIL(UNIX_TIMESTAMP(cpe) / 3600) AS BIGINT) - 1
          )
        ) AS hb
      FROM unmatched_lines
      WHERE
        NOT cluster IS NULL
    ) AS u
    JOIN (
      SELECT
        cluster,
        namespace,
        total_cost,
        ws_s,
        we_s,
        EXPLODE(
          SEQUENCE(CAST(FLOOR(ws_s / 3600) AS BIGINT), CAST(CEIL(we_s / 3600) AS BIGINT) - 1)
        ) AS hb
      FROM namespace_costs
    ) AS a
      ON a.cluster = u.cluster AND a.hb = u.hb
    WHERE
      LEAST(a.we_s, u.ce, (
        a.hb + 1
      ) * 3600.0) - GREATEST(a.ws_s, u.cs, a.hb * 3600.0) > 0
    GROUP BY
      u.lid,
      a.namespace
  ) AS w
  JOIN unmatched_lines AS u
    ON u.lid = w.lid
  WHERE
    w.w > 0
) AS x
