-- DESIGN §4 Keys: each key the split table holds, with its cluster, node, component and method.
SELECT skey, min(cluster) AS cluster, min(node) AS node, min(comp) AS comp, min(method) AS method
FROM all_splits
GROUP BY skey
