-- DESIGN §4 Policies: what a policy may hand cost to, the workload rows of the namespaces that are not shared,
-- summed per bill line, cluster, node and namespace (`ratio` of the line, `cost` its BilledCost); empty when no
-- policy that needs them is on.
SELECT r.lid AS lid, t.cluster AS cluster, t.node AS node, t.namespace AS namespace, sum(r.ratio) AS ratio,
       sum(r.BilledCost) AS cost
FROM result_rows r
JOIN targets t ON t.tno = r.tno
LEFT JOIN (SELECT DISTINCT tno FROM shared_targets) s ON s.tno = r.tno
WHERE ($idle_share <> 'none' OR $namespace_tags <> '' OR $shared_spread = 'even' OR $shared_namespaces <> ''
       OR $shared_labels <> '')
  AND t.kind = 'workload' AND s.tno IS NULL AND NOT starts_with(t.namespace, '__')
GROUP BY r.lid, t.cluster, t.node, t.namespace
