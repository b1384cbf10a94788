-- DESIGN §4 Allocation sources: the clusters whose cloud split (AWS split cost allocation data, GKE cost allocation)
-- the day uses, by `$allocation_source`: `cloud` every cluster the bill splits, `auto` those no allocation export
-- covers this day, `export` none.
SELECT c.cluster AS cluster, c.lc AS lc
FROM (SELECT min(x_CloudSplit.cluster) AS cluster, lower(x_CloudSplit.cluster) AS lc
      FROM cost_in
      WHERE ChargePeriodStart >= $day_start AND ChargePeriodStart < $day_end AND x_CloudSplit.cluster IS NOT NULL
      GROUP BY lower(x_CloudSplit.cluster)) c
WHERE $allocation_source = 'cloud'
   OR ($allocation_source = 'auto'
       AND NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT lower(cluster) AS lc FROM allocation_rows) a WHERE a.lc = c.lc))
