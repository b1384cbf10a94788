-- DESIGN §4 Node lines: a node's rows split its lines by the method's weights (OpenCost list cost by default;
-- AWS split-cost 9:1 CPU:memory of max(request, usage) over the node's capacity); `__idle__` takes the rest.
SELECT
  n.skey AS skey, 'compute' AS comp, n.ws AS ws, n.we AS we, n.source AS source, n.cluster AS cluster,
  n.node AS node, n.namespace AS namespace, n.controller_kind AS controller_kind, n.controller AS controller,
  n.pod AS pod, n.container AS container, n.labels AS labels, n.kind AS kind,
  CASE WHEN $method = 'aws-split-cost'
       THEN CASE WHEN c.cap_cpu > 0 THEN 0.9 * n.cpu_units / c.cap_cpu ELSE 0 END
       ELSE coalesce(n.cpu_cost, 0) END AS wc,
  CASE WHEN $method = 'aws-split-cost'
       THEN CASE WHEN c.cap_ram > 0 THEN 0.1 * n.ram_units / c.cap_ram ELSE 0 END
       ELSE coalesce(n.ram_cost, 0) END AS wr,
  CASE WHEN $method = 'aws-split-cost' THEN 0.0 ELSE coalesce(n.gpu_cost, 0) END AS wg,
  CASE WHEN n.kind = 'idle' THEN 0 ELSE coalesce(n.minutes, 0) END AS f,
  coalesce(n.cpu_cost, 0) + coalesce(n.ram_cost, 0) + coalesce(n.gpu_cost, 0) AS list_cost,
  CAST($method AS VARCHAR) AS method
FROM node_rows n LEFT JOIN node_capacity c ON c.skey = n.skey AND c.ws = n.ws
