-- DESIGN §4 Load-balancer lines, Azure: an unmatched line of the cluster's `kubernetes` (`-internal`) load
-- balancer goes to the LB keys of the cluster's Services overlapping it; a public IP tagged
-- `k8s-azure-service: <namespace>/<name>` to its Services' keys. One row per (line, key).
WITH c AS (
  SELECT l.lid AS lid, l.cps AS cps, l.cpe AS cpe, l.hint AS hint, ends_with(l.rk, '-internal') AS internal,
    CASE WHEN regexp_matches(l.rk, '/microsoft\.network/loadbalancers/[^/]+$') THEN NULL
         ELSE string_split(replace(regexp_extract(lower(l.Tags), '"k8s-azure-service"\s*:\s*"([^"]*)"', 1), ' ', ''), ',')
    END AS services
  FROM bill_lines l JOIN line_keys lk ON lk.lid = l.lid
  WHERE lk.mkey IS NULL AND l.hint IS NOT NULL AND starts_with(l.rk, '/subscriptions/')
    AND (regexp_matches(l.rk, '/microsoft\.network/loadbalancers/[^/]+$') OR strpos(lower(l.Tags), 'k8s-azure-service') > 0))
SELECT DISTINCT c.lid AS lid, c.cps AS cps, c.cpe AS cpe, k.skey AS mkey
FROM c JOIN lb_keys k ON k.lc = c.hint AND k.ks < epoch(c.cpe) AND k.ke > epoch(c.cps)
WHERE (c.services IS NULL AND k.internal = c.internal) OR list_contains(c.services, k.service)
