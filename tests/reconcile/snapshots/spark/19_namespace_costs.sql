/* DESIGN §4 Policies, shared spread `weighted`: the namespaces' list cost per step, the weights a cluster's */
/* shared lines are spread by; empty under any other spread. */
SELECT
  cluster,
  namespace,
  total_cost,
  UNIX_TIMESTAMP(ws) AS ws_s,
  UNIX_TIMESTAMP(we) AS we_s
FROM allocation_rows
WHERE
  :shared_spread = 'weighted'
  AND NOT namespace IS NULL
  AND NOT STARTSWITH(namespace, '__')
