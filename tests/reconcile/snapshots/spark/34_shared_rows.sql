/* DESIGN §4 Policies, shared spread `weighted`: a shared line's rows over its cluster's namespaces, by weight. */
SELECT
  x.lid AS lid,
  g.tno AS tno,
  CAST('shared' AS STRING) AS comp,
  CAST('shared' AS STRING) AS kind,
  CAST('kubebill-shared-weighted' AS STRING) AS method,
  FALSE AS neg_idle,
  x.ratio AS ratio,
  CAST('ListCost' AS STRING) AS unit,
  x.w AS qty,
  CAST(NULL AS DOUBLE) AS cpu_ratio,
  CAST(NULL AS DOUBLE) AS ram_ratio,
  CAST(NULL AS DOUBLE) AS gpu_ratio,
  u.BillingCurrency AS BillingCurrency,
  CAST(u.BilledCost * x.ratio AS DOUBLE) AS BilledCost,
  CAST(u.EffectiveCost * x.ratio AS DOUBLE) AS EffectiveCost,
  CAST(u.ListCost * x.ratio AS DOUBLE) AS ListCost,
  CAST(u.ContractedCost * x.ratio AS DOUBLE) AS ContractedCost,
  CAST(u.ConsumedQuantity * x.ratio AS DOUBLE) AS ConsumedQuantity
FROM (
  SELECT
    lid,
    tid,
    w,
    w / SUM(w) OVER (PARTITION BY lid) AS ratio
  FROM shared_weights
) AS x
JOIN targets AS g
  ON g.tid = x.tid
JOIN unmatched_lines AS u
  ON u.lid = x.lid
