-- DESIGN §4 Cluster-scoped lines: the clusters with an allocation export, or whose cloud split is used, this day (a
-- hint naming one is shared, any other hinted cluster unallocated).
SELECT min(cluster) AS cluster, lc
FROM (SELECT cluster, lower(cluster) AS lc FROM allocation_rows
      UNION ALL
      SELECT cluster, lc FROM cloud_clusters)
GROUP BY lc
