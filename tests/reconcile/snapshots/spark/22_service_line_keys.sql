/* DESIGN §4 Load-balancer lines, Azure: an unmatched line of the cluster's `kubernetes` (`-internal`) load */
/* balancer goes to the LB keys of the cluster's Services overlapping it; a public IP tagged */
/* `k8s-azure-service: <namespace>/<name>` to its Services' keys. One row per (line, key). */
WITH c AS (
  SELECT
    l.lid AS lid,
    l.cps AS cps,
    l.cpe AS cpe,
    l.hint AS hint,
    ENDSWITH(l.rk, '-internal') AS internal,
    CASE
      WHEN l.rk RLIKE '/microsoft\\.network/loadbalancers/[^/]+$'
      THEN NULL
      ELSE SPLIT(
        REPLACE(REGEXP_EXTRACT(LOWER(l.Tags), '"k8s-azure-service"\\s*:\\s*"([^"]*)"'), ' ', ''),
        CONCAT('\\Q', ',', '\\E')
      )
    END AS services
  FROM bill_lines AS l
  JOIN line_keys AS lk
    ON lk.lid = l.lid
  WHERE
    lk.mkey IS NULL
    AND NOT l.hint IS NULL
    AND STARTSWITH(l.rk, '/subscriptions/')
    AND (
      l.rk RLIKE '/microsoft\\.network/loadbalancers/[^/]+$'
      OR LOCATE('k8s-azure-service', LOWER(l.Tags)) > 0
    )
)
SELECT DISTINCT
  c.lid AS lid,
  c.cps AS cps,
  c.cpe AS cpe,
  k.skey AS mkey
FROM c
JOIN lb_keys AS k
  ON k.lc = c.hint AND k.ks < UNIX_TIMESTAMP(c.cpe) AND k.ke > UNIX_TIMESTAMP(c.cps)
WHERE
  (
    c.services IS NULL AND k.internal = c.internal
  )
  OR ARRAY_CONTAINS(c.services, k.service)
