-- DESIGN §4 Policies: the targets the policies hand cost to (a namespace of a cluster, under the origin bucket
-- and the policy's method), numbered on from the day's targets.
SELECT g.tid AS tid, g.comp AS comp, g.cluster AS cluster, g.node AS node, g.namespace AS namespace,
       g.controller_kind AS controller_kind, g.controller AS controller, g.pod AS pod, g.container AS container,
       g.kind AS kind, g.method AS method, g.labels AS labels,
       m.top + row_number() OVER (ORDER BY g.tid) AS tno
FROM (SELECT tid, any_value(comp) AS comp, any_value(cluster) AS cluster, any_value(node) AS node,
             any_value(namespace) AS namespace, any_value(controller_kind) AS controller_kind,
             any_value(controller) AS controller, any_value(pod) AS pod, any_value(container) AS container,
             any_value(kind) AS kind, any_value(method) AS method, any_value(labels) AS labels
      FROM (SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM idle_shares
            UNION ALL
            SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM shared_shares
            UNION ALL
            SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method,
                   labels FROM external_rows) t
      GROUP BY tid) g
CROSS JOIN (SELECT coalesce(max(tno), -1) AS top FROM targets) m
