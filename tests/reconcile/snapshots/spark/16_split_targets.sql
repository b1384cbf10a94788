/* DESIGN §4 Node, volume, load-balancer lines: each target of the split table once, by its id. */
SELECT
  target AS tid,
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
FROM all_splits
GROUP BY
  target
