/* DESIGN §4 Policies: the targets the policies hand cost to (a namespace of a cluster, under the origin bucket */
/* and the policy's method), numbered on from the day's targets. */
SELECT
  g.tid AS tid,
  g.comp AS comp,
  g.cluster AS cluster,
  g.node AS node,
  g.namespace AS namespace,
  g.controller_kind AS controller_kind,
  g.controller AS controller,
  g.pod AS pod,
  g.container AS container,
  g.kind AS kind,
  g.method AS method,
  g.labels AS labels,
  m.top + ROW_NUMBER() OVER (ORDER BY g.tid NULLS LAST) AS tno
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
    FROM idle_shares
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
    FROM shared_shares
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
    FROM external_rows
  ) AS t
  GROUP BY
    tid
) AS g
CROSS JOIN (
  SELECT
    COALESCE(MAX(tno), -1) AS top
  FROM targets
) AS m
