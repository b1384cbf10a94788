/* DESIGN §4 Cluster-scoped lines and lines outside every cluster: an unmatched line not spread by namespace goes */
/* whole to `__shared__` of its exported cluster, to `__unallocated__` of a hinted cluster with no export, else */
/* is `not_kubernetes`. A line passed through before the split (`passes`, the lines of `passed_lines`) has no row */
/* here: left out by that flag, not by an anti-join with `passed_lines` (1M lines: 0.07-0.10 s in one thread). */
SELECT
  x.lid AS lid,
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
    lid,
    CAST(CASE WHEN cluster IS NULL AND hint IS NULL THEN 'other' ELSE 'shared' END AS STRING) AS comp,
    CAST(COALESCE(cluster, hint) AS STRING) AS cluster,
    CAST(NULL AS STRING) AS node,
    CAST(CASE
      WHEN NOT cluster IS NULL
      THEN '__shared__'
      WHEN NOT hint IS NULL
      THEN '__unallocated__'
    END AS STRING) AS namespace,
    CAST(NULL AS STRING) AS controller_kind,
    CAST(NULL AS STRING) AS controller,
    CAST(CASE
      WHEN NOT cluster IS NULL
      THEN '__shared__'
      WHEN NOT hint IS NULL
      THEN '__unallocated__'
    END AS STRING) AS pod,
    CAST(NULL AS STRING) AS container,
    CAST(CASE
      WHEN NOT cluster IS NULL
      THEN 'shared'
      WHEN NOT hint IS NULL
      THEN 'unallocated'
      ELSE 'not_kubernetes'
    END AS STRING) AS kind,
    CAST(CASE WHEN NOT cluster IS NULL OR NOT hint IS NULL THEN 'kubebill-shared' END AS STRING) AS method,
    CAST(NULL AS STRING) AS labels
  FROM unmatched_lines AS u
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM shared_weights AS w
      WHERE
        w.lid = u.lid
    )
    AND NOT u.passes
) AS x
