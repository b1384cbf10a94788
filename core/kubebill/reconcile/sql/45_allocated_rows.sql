-- DESIGN §4 Policies: the day's rows once the policies ran, what the invariants check and the writer widens: a
-- split row no policy moved as it is, and the rows the policies made of those they moved.
SELECT r.lid AS lid, r.tno AS tno, r.comp AS comp, r.kind AS kind, r.method AS method, r.neg_idle AS neg_idle,
       r.ratio AS ratio, r.unit AS unit, r.qty AS qty, r.cpu_ratio AS cpu_ratio, r.ram_ratio AS ram_ratio,
       r.gpu_ratio AS gpu_ratio, r.BillingCurrency AS BillingCurrency, r.BilledCost AS BilledCost,
       r.EffectiveCost AS EffectiveCost, r.ListCost AS ListCost, r.ContractedCost AS ContractedCost,
       r.ConsumedQuantity AS ConsumedQuantity, CAST(NULL AS VARCHAR) AS moved
FROM result_rows r
LEFT JOIN (SELECT DISTINCT lid, tno
           FROM (SELECT lid, tno FROM idle_shares
                 UNION ALL SELECT lid, tno FROM shared_shares
                 UNION ALL SELECT lid, tno FROM external_rows) a) m ON m.lid = r.lid AND m.tno = r.tno
WHERE m.lid IS NULL
UNION ALL
SELECT lid, tno, comp, kind, method, neg_idle, ratio, unit, qty, cpu_ratio, ram_ratio, gpu_ratio, BillingCurrency,
       BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity, moved
FROM moved_rows
