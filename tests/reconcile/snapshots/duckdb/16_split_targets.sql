-- DESIGN §4 Node, volume, load-balancer lines: each target of the split table once, by its id.
SELECT target AS tid, any_value(comp) AS comp, any_value(cluster) AS cluster, any_value(node) AS node,
       any_value(namespace) AS namespace, any_value(controller_kind) AS controller_kind,
       any_value(controller) AS controller, any_value(pod) AS pod, any_value(container) AS container,
       any_value(kind) AS kind, any_value(method) AS method, any_value(labels) AS labels
FROM all_splits
GROUP BY target
