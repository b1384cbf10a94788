/* DESIGN §4 Keys: each key the split table holds, with its cluster, node, component and method. */
SELECT
  skey,
  MIN(cluster) AS cluster,
  MIN(node) AS node,
  MIN(comp) AS comp,
  MIN(method) AS method
FROM all_splits
GROUP BY
  skey
