-- DESIGN §4: every target of the day once, numbered densely (`tno`) for the writer to take its columns by.
SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method, labels,
       row_number() OVER (ORDER BY tid) - 1 AS tno
FROM (SELECT tid, any_value(comp) AS comp, any_value(cluster) AS cluster, any_value(node) AS node,
             any_value(namespace) AS namespace, any_value(controller_kind) AS controller_kind,
             any_value(controller) AS controller, any_value(pod) AS pod, any_value(container) AS container,
             any_value(kind) AS kind, any_value(method) AS method, any_value(labels) AS labels
      FROM (SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM split_targets
            UNION ALL
            SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM rest_targets
            UNION ALL
            SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM shared_weights
            UNION ALL
            SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM unmatched_splits) t
      GROUP BY tid) g
