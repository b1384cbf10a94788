-- DESIGN §4: the day's split rows, one per (bill line, target): what the invariants check and the writer widens
-- into RESULT rows (the line's FOCUS columns, the target's columns).
SELECT lid, tno, comp, kind, method, neg_idle, CAST(ratio AS DOUBLE) AS ratio, unit, CAST(qty AS DOUBLE) AS qty,
       cpu_ratio, ram_ratio, gpu_ratio, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost,
       ConsumedQuantity
FROM matched_rows
UNION ALL
SELECT lid, tno, comp, kind, method, neg_idle, CAST(ratio AS DOUBLE) AS ratio, unit, CAST(qty AS DOUBLE) AS qty,
       cpu_ratio, ram_ratio, gpu_ratio, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost,
       ConsumedQuantity
FROM shared_rows
UNION ALL
SELECT lid, tno, comp, kind, method, neg_idle, CAST(ratio AS DOUBLE) AS ratio, unit, CAST(qty AS DOUBLE) AS qty,
       cpu_ratio, ram_ratio, gpu_ratio, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost,
       ConsumedQuantity
FROM unmatched_rows
