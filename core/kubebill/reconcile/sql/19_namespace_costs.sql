-- DESIGN §4 Policies, shared spread `weighted`: the namespaces' list cost per step, the weights a cluster's
-- shared lines are spread by; empty under any other spread.
SELECT cluster, namespace, total_cost, epoch(ws) AS ws_s, epoch(we) AS we_s
FROM allocation_rows
WHERE $shared_spread = 'weighted' AND namespace IS NOT NULL AND NOT starts_with(namespace, '__')
