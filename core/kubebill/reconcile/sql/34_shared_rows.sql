-- DESIGN §4 Policies, shared spread `weighted`: a shared line's rows over its cluster's namespaces, by weight.
SELECT x.lid AS lid, g.tno AS tno, CAST('shared' AS VARCHAR) AS comp, CAST('shared' AS VARCHAR) AS kind,
       CAST('kubebill-shared-weighted' AS VARCHAR) AS method, false AS neg_idle, x.ratio AS ratio,
       CAST('ListCost' AS VARCHAR) AS unit, x.w AS qty, CAST(NULL AS DOUBLE) AS cpu_ratio,
       CAST(NULL AS DOUBLE) AS ram_ratio, CAST(NULL AS DOUBLE) AS gpu_ratio, u.BillingCurrency AS BillingCurrency,
       CAST(u.BilledCost * x.ratio AS DOUBLE) AS BilledCost,
       CAST(u.EffectiveCost * x.ratio AS DOUBLE) AS EffectiveCost,
       CAST(u.ListCost * x.ratio AS DOUBLE) AS ListCost,
       CAST(u.ContractedCost * x.ratio AS DOUBLE) AS ContractedCost,
       CAST(u.ConsumedQuantity * x.ratio AS DOUBLE) AS ConsumedQuantity
FROM (SELECT lid, tid, w, w / sum(w) OVER (PARTITION BY lid) AS ratio FROM shared_weights) x
JOIN targets g ON g.tid = x.tid
JOIN unmatched_lines u ON u.lid = x.lid
