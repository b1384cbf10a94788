/* DESIGN §4 Keys: each bill line's split key: its GKE cost-allocation key where that split is used, its own, its */
/* VMSS's (a VMSS instance line), or an AWS load balancer's name from its ARN; none for a GCE boot disk (named like */
/* its instance, it is the node's OS disk: shared), or when no key matches. */
SELECT
  l.lid AS lid,
  l.cps AS cps,
  l.cpe AS cpe,
  CASE
    WHEN NOT k4.skey IS NULL
    THEN k4.skey
    WHEN COALESCE(k1.comp, k2.comp) = 'compute' AND LOWER(l.ResourceId) LIKE '%/disks/%'
    THEN NULL
    ELSE COALESCE(k1.skey, k2.skey, k3.skey)
  END AS mkey
FROM bill_lines AS l
LEFT JOIN split_keys AS k1
  ON k1.skey = l.rk
LEFT JOIN split_keys AS k2
  ON k2.skey = CASE
    WHEN LOCATE('/virtualmachines/', l.rk) > 0
    THEN NULLIF(
      REGEXP_EXTRACT(l.rk, '^(.*/virtualmachinescalesets/[^/]+)/virtualmachines/[^/]+$'),
      ''
    )
  END
LEFT JOIN split_keys AS k3
  ON k3.skey = CASE
    WHEN STARTSWITH(l.rk, 'arn:aws:elasticloadbalancing:')
    THEN NULLIF(
      REGEXP_EXTRACT(
        l.rk,
        '^arn:aws:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/(?:net/|app/)?([^/]+)'
      ),
      ''
    )
  END
LEFT JOIN split_keys AS k4
  ON k4.skey = l.gk
