-- DESIGN §4 Keys: every cluster-side provider id of the day (nodes, PVs, load balancers); the runner turns
-- them into `keymap(raw, key)` with the clouds' normalisers (kubebill.keys).
-- `IS NOT NULL` before the length: a filter the Parquet scan applies itself (a row group with no PV or LB is
-- skipped), where the length is computed on every row read.
SELECT DISTINCT provider_id AS raw FROM allocation_rows WHERE provider_id IS NOT NULL
UNION
SELECT DISTINCT p.e.provider_id AS raw
FROM (SELECT unnest(pvs) AS e FROM allocation_rows WHERE pvs IS NOT NULL AND array_length(pvs) > 0) p
WHERE p.e.provider_id IS NOT NULL
UNION
SELECT DISTINCT b.e.provider_id AS raw
FROM (SELECT unnest(load_balancers) AS e FROM allocation_rows
      WHERE load_balancers IS NOT NULL AND array_length(load_balancers) > 0) b
WHERE b.e.provider_id IS NOT NULL
