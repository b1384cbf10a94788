/* DESIGN §4 Allocation sources: the clusters whose cloud split (AWS split cost allocation data, GKE cost allocation) */
/* the day uses, by `$allocation_source`: `cloud` every cluster the bill splits, `auto` those no allocation export */
/* covers this day, `export` none. */
SELECT
  c.cluster AS cluster,
  c.lc AS lc
FROM (
  SELECT
    MIN(x_CloudSplit.cluster) AS cluster,
    LOWER(x_CloudSplit.cluster) AS lc
  FROM cost_in
  WHERE
    ChargePeriodStart >= :day_start
    AND ChargePeriodStart < :day_end
    AND NOT x_CloudSplit.cluster IS NULL
  GROUP BY
    LOWER(x_CloudSplit.cluster)
) AS c
WHERE
  :allocation_source = 'cloud'
  OR (
    :allocation_source = 'auto'
    AND NOT EXISTS(
      SELECT
        1
      FROM (
        SELECT DISTINCT
          LOWER(cluster) AS lc
        FROM allocation_rows
      ) AS a
      WHERE
        a.lc = c.lc
    )
  )
