/* DESIGN §4 Load-balancer lines, Azure: each Service's LB key, whether its ingress IP is private (an internal */
/* LB) and the epoch seconds its allocation spans, for lines that name the Service or the cluster's shared LB. */
/* `load_balancers IS NOT NULL`: see 08_lb_splits. */
SELECT
  LOWER(x.cluster) AS lc,
  LOWER(x.e.service) AS service,
  k.key AS skey,
  LOWER(x.e.provider_id) RLIKE '^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|f[cd][0-9a-f]{2}:)' AS internal,
  MIN(UNIX_TIMESTAMP(x.ws)) AS ks,
  MAX(UNIX_TIMESTAMP(x.we)) AS ke
FROM (
  SELECT
    cluster,
    ws,
    we,
    EXPLODE(load_balancers) AS e
  FROM allocation_rows
  WHERE
    source <> 'aks' AND NOT load_balancers IS NULL AND SIZE(load_balancers) > 0
) AS x
JOIN keymap AS k
  ON k.raw = x.e.provider_id
WHERE
  NOT x.e.service IS NULL
GROUP BY
  LOWER(x.cluster),
  LOWER(x.e.service),
  k.key,
  LOWER(x.e.provider_id) RLIKE '^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|f[cd][0-9a-f]{2}:)'
