-- DESIGN §4 Lines outside every cluster: a line no key matched and no hint names a cluster of passes through
-- whole as `not_kubernetes`, written as it came and never split; here before the split (`passes`: see
-- unmatched_lines, where a tag policy keeps it in the split).
SELECT lid, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity
FROM unmatched_lines
WHERE passes
