-- DESIGN §4 Node lines: the allocation rows of each node under its key, with their kind (workload, idle,
-- unmounted) and the CPU and RAM units AWS split-cost weights read (max of request and usage; idle: its hours).
SELECT
  nk.key AS skey, a.ws AS ws, a.we AS we, a.source AS source, a.cluster AS cluster, a.node AS node,
  a.namespace AS namespace, a.controller_kind AS controller_kind, a.controller AS controller, a.pod AS pod,
  a.container AS container, a.labels AS labels, a.minutes AS minutes, a.cpu_cost AS cpu_cost,
  a.ram_cost AS ram_cost, a.gpu_cost AS gpu_cost,
  CASE WHEN a.namespace = '__idle__' OR a.pod = '__idle__' THEN 'idle'
       WHEN a.namespace = '__unmounted__' OR a.pod = '__unmounted__' THEN 'unmounted'
       ELSE 'workload' END AS kind,
  CASE WHEN a.namespace = '__idle__' OR a.pod = '__idle__' THEN coalesce(a.cpu_core_hours, 0)
       ELSE coalesce(greatest(a.cpu_core_request_average, a.cpu_core_usage_average) * a.minutes / 60,
                     a.cpu_core_hours, 0) END AS cpu_units,
  CASE WHEN a.namespace = '__idle__' OR a.pod = '__idle__' THEN coalesce(a.ram_byte_hours, 0)
       ELSE coalesce(greatest(a.ram_byte_request_average, a.ram_byte_usage_average) * a.minutes / 60,
                     a.ram_byte_hours, 0) END AS ram_units
FROM allocation_rows a JOIN node_keys nk ON nk.cluster = a.cluster AND nk.node = a.node
WHERE a.source <> 'aks'
