-- DESIGN §4 Load-balancer lines, Azure: each Service's LB key, whether its ingress IP is private (an internal
-- LB) and the epoch seconds its allocation spans, for lines that name the Service or the cluster's shared LB.
-- `load_balancers IS NOT NULL`: see 08_lb_splits.
SELECT lower(x.cluster) AS lc, lower(x.e.service) AS service, k.key AS skey,
       regexp_matches(lower(x.e.provider_id), '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|f[cd][0-9a-f]{2}:)') AS internal,
       min(epoch(x.ws)) AS ks, max(epoch(x.we)) AS ke
FROM (SELECT cluster, ws, we, unnest(load_balancers) AS e FROM allocation_rows
      WHERE source <> 'aks' AND load_balancers IS NOT NULL AND array_length(load_balancers) > 0) x
JOIN keymap k ON k.raw = x.e.provider_id
WHERE x.e.service IS NOT NULL
GROUP BY lower(x.cluster), lower(x.e.service), k.key, regexp_matches(lower(x.e.provider_id), '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|f[cd][0-9a-f]{2}:)')
