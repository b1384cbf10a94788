/* DESIGN §4 Keys: every cluster-side provider id of the day (nodes, PVs, load balancers); the runner turns */
/* them into `keymap(raw, key)` with the clouds' normalisers (kubebill.keys). */
/* `IS NOT NULL` before the length: a filter the Parquet scan applies itself (a row group with no PV or LB is */
/* skipped), where the length is computed on every row read. */
SELECT DISTINCT
  provider_id AS raw
FROM allocation_rows
WHERE
  NOT provider_id IS NULL
UNION
SELECT DISTINCT
  p.e.provider_id AS raw
FROM (
  SELECT
    EXPLODE(pvs) AS e
  FROM allocation_rows
  WHERE
    NOT pvs IS NULL AND SIZE(pvs) > 0
) AS p
WHERE
  NOT p.e.provider_id IS NULL
UNION
SELECT DISTINCT
  b.e.provider_id AS raw
FROM (
  SELECT
    EXPLODE(load_balancers) AS e
  FROM allocation_rows
  WHERE
    NOT load_balancers IS NULL AND SIZE(load_balancers) > 0
) AS b
WHERE
  NOT b.e.provider_id IS NULL
