-- DESIGN §4 Keys: the bill lines matched to a key, one row per (line, key).
SELECT lid, cps, cpe, mkey FROM line_keys
WHERE mkey IS NOT NULL
UNION ALL
SELECT lid, cps, cpe, mkey FROM service_line_keys
