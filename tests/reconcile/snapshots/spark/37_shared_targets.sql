/* DESIGN §4 Policies, shared namespaces and overhead: the workload targets whose cost is spread over the other */
/* namespaces of their cluster, chosen by namespace ($shared_namespaces, a comma list) or by a pod label */
/* (`policy_values` of setting `shared_label`), each with the selector that chose it. */
SELECT
  t.tno AS tno,
  t.namespace AS selector
FROM targets AS t
WHERE
  :shared_spread <> 'none'
  AND t.kind = 'workload'
  AND LOCATE(',' || t.namespace || ',', ',' || :shared_namespaces || ',') > 0
UNION ALL
SELECT
  t.tno AS tno,
  p.selector AS selector
FROM targets AS t
JOIN policy_values AS p
  ON p.json = t.labels AND p.setting = 'shared_label'
WHERE
  :shared_spread <> 'none' AND t.kind = 'workload'
