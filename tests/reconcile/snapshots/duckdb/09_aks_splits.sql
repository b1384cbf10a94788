-- DESIGN §4 Allocation sources, AKS agent: each row splits its Azure resource's lines by the agent's `fraction`;
-- the component follows the resource type (disk, load balancer, other network, else compute).
SELECT
  k.key AS skey, CASE WHEN k.key LIKE '%/microsoft.compute/disks/%' THEN 'pv'
       WHEN k.key LIKE '%/microsoft.network/loadbalancers/%' THEN 'load_balancer'
       WHEN k.key LIKE '%/microsoft.network/%' THEN 'network'
       ELSE 'compute' END AS comp, a.ws AS ws, a.we AS we, a.source AS source,
  a.cluster AS cluster, a.node AS node, a.namespace AS namespace, a.controller_kind AS controller_kind,
  a.controller AS controller, a.pod AS pod, a.container AS container, a.labels AS labels,
  CASE lower(a.split_bucket) WHEN 'idle' THEN 'idle' WHEN 'system' THEN 'system' ELSE 'workload' END AS kind,
  greatest(coalesce(a.fraction, 0), 0) AS wc, 0.0 AS wr, 0.0 AS wg, 1.0 AS f,
  coalesce(a.cpu_cost, 0) + coalesce(a.ram_cost, 0) + coalesce(a.gpu_cost, 0) + coalesce(a.pv_cost, 0)
    + coalesce(a.load_balancer_cost, 0) + coalesce(a.network_cost, 0) AS list_cost,
  'aks-cost-analysis-fraction' AS method
FROM allocation_rows a JOIN keymap k ON k.raw = a.provider_id
WHERE a.source = 'aks'
