-- DESIGN §4 Keys: each bill line's split key: its GKE cost-allocation key where that split is used, its own, its
-- VMSS's (a VMSS instance line), or an AWS load balancer's name from its ARN; none for a GCE boot disk (named like
-- its instance, it is the node's OS disk: shared), or when no key matches.
SELECT
  l.lid AS lid, l.cps AS cps, l.cpe AS cpe,
  CASE WHEN k4.skey IS NOT NULL THEN k4.skey
       WHEN coalesce(k1.comp, k2.comp) = 'compute' AND lower(l.ResourceId) LIKE '%/disks/%' THEN NULL
       ELSE coalesce(k1.skey, k2.skey, k3.skey) END AS mkey
FROM bill_lines l
LEFT JOIN split_keys k1 ON k1.skey = l.rk
LEFT JOIN split_keys k2 ON k2.skey = CASE WHEN strpos(l.rk, '/virtualmachines/') > 0 THEN NULLIF(regexp_extract(l.rk, '^(.*/virtualmachinescalesets/[^/]+)/virtualmachines/[^/]+$', 1), '') END
LEFT JOIN split_keys k3 ON k3.skey = CASE WHEN starts_with(l.rk, 'arn:aws:elasticloadbalancing:') THEN NULLIF(regexp_extract(l.rk, '^arn:aws:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/(?:net/|app/)?([^/]+)', 1), '') END
LEFT JOIN split_keys k4 ON k4.skey = l.gk
