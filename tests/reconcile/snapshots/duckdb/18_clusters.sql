-- DESIGN §4 Cluster-scoped lines: the clusters with an allocation export this day (a hint naming one is shared,
-- any other hinted cluster unallocated).
SELECT DISTINCT cluster, lower(cluster) AS lc FROM allocation_rows
