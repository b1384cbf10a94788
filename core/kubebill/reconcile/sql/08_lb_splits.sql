-- DESIGN §4 Load-balancer lines: an LB's line goes to its Service's pods by their share of the LB cost (their
-- hours when the costs are zero).
-- `load_balancers IS NOT NULL` lets the Parquet scan skip row groups with no LB (see 07_volume_splits).
SELECT
  k.key AS skey, 'load_balancer' AS comp, x.ws AS ws, x.we AS we, x.source AS source, x.cluster AS cluster,
  x.node AS node, x.namespace AS namespace, x.controller_kind AS controller_kind, x.controller AS controller,
  x.pod AS pod, x.container AS container, x.labels AS labels,
  CASE WHEN x.namespace = '__idle__' OR x.pod = '__idle__' THEN 'idle'
       WHEN x.namespace = '__unmounted__' OR x.pod = '__unmounted__' THEN 'unmounted'
       ELSE 'workload' END AS kind,
  greatest(coalesce(x.e.cost, 0), 0) AS wc, 0.0 AS wr, 0.0 AS wg, greatest(coalesce(x.e.hours, 0), 0) AS f,
  coalesce(x.e.cost, 0) AS list_cost, 'opencost-list-cost' AS method
FROM (SELECT ws, we, source, cluster, node, namespace, controller_kind, controller, pod, container, labels,
             unnest(load_balancers) AS e
      FROM allocation_rows WHERE source <> 'aks' AND load_balancers IS NOT NULL AND array_length(load_balancers) > 0) x
JOIN keymap k ON k.raw = x.e.provider_id
