-- DESIGN §4 Cluster-scoped lines and lines outside every cluster: the line whole (ratio 1) to its one target.
SELECT x.lid AS lid, g.tno AS tno, x.comp AS comp, x.kind AS kind, x.method AS method, false AS neg_idle,
       1.0 AS ratio, CAST(NULL AS VARCHAR) AS unit, CAST(NULL AS DOUBLE) AS qty, CAST(NULL AS DOUBLE) AS cpu_ratio,
       CAST(NULL AS DOUBLE) AS ram_ratio, CAST(NULL AS DOUBLE) AS gpu_ratio, u.BillingCurrency AS BillingCurrency,
       u.BilledCost AS BilledCost, u.EffectiveCost AS EffectiveCost, u.ListCost AS ListCost,
       u.ContractedCost AS ContractedCost, u.ConsumedQuantity AS ConsumedQuantity
FROM unmatched_splits x
JOIN targets g ON g.tid = x.tid
JOIN unmatched_lines u ON u.lid = x.lid
