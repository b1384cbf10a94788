/* DESIGN §4: every target of the day once, numbered densely (`tno`) for the writer to take its columns by. */
SELECT
  tid,
  comp,
  cluster,
  node,
  namespace,
  controller_kind,
  controller,
  pod,
  container,
  kind,
  method,
  labels,
  ROW_NUMBER() OVER (ORDER BY tid NULLS LAST) - 1 AS tno
FROM (
  SELECT
    tid,
    ANY_VALUE(comp) IGNORE NULLS AS comp,
    ANY_VALUE(cluster) IGNORE NULLS AS cluster,
    ANY_VALUE(node) IGNORE NULLS AS node,
    ANY_VALUE(namespace) IGNORE NULLS AS namespace,
    ANY_VALUE(controller_kind) IGNORE NULLS AS controller_kind,
    ANY_VALUE(controller) IGNORE NULLS AS controller,
    ANY_VALUE(pod) IGNORE NULLS AS pod,
    ANY_VALUE(container) IGNORE NULLS AS container,
    ANY_VALUE(kind) IGNORE NULLS AS kind,
    ANY_VALUE(method) IGNORE NULLS AS method,
    ANY_VALUE(labels) IGNORE NULLS AS labels
  FROM (
    SELECT
      tid,
      comp,
      cluster,
      node,
      namespace,
      controller_kind,
      controller,
      pod,
      container,
      kind,
      method,
      labels
    FROM split_targets
    UNION ALL
    SELECT
      tid,
      comp,
      cluster,
      node,
      namespace,
      controller_kind,
      controller,
      pod,
      container,
      kind,
      method,
      labels
    FROM rest_targets
    UNION ALL
    SELECT
      tid,
      comp,
      cluster,
      node,
      namespace,
      controller_kind,
      controller,
      pod,
      container,
      kind,
      method,
      labels
    FROM shared_weights
    UNION ALL
    SELECT
      tid,
      comp,
      cluster,
      node,
      namespace,
      controller_kind,
      controller,
      pod,
      container,
      kind,
      method,
      labels
    FROM unmatched_splits
  ) AS t
  GROUP BY
    tid
) AS g
