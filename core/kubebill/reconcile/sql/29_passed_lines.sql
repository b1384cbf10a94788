-- DESIGN §4 Lines outside every cluster: a line no key matched and no hint names a cluster of passes through
-- whole as `not_kubernetes`, written as it came and never split; here before the split, unless a tag policy
-- ($namespace_tags) may still move it to a namespace (then it is split as `not_kubernetes` like any line).
SELECT lid, BillingCurrency, BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity
FROM unmatched_lines
WHERE cluster IS NULL AND hint IS NULL AND $namespace_tags = ''
