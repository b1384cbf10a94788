-- DESIGN §4 Cluster-scoped lines, lines outside every cluster: the lines no key matched, with the exported
-- cluster their hint names (none when no export of that cluster is in the day).
SELECT l.lid AS lid, l.cps AS cps, l.cpe AS cpe, l.hint AS hint, c.cluster AS cluster,
       l.BillingCurrency AS BillingCurrency, l.BilledCost AS BilledCost, l.EffectiveCost AS EffectiveCost,
       l.ListCost AS ListCost, l.ContractedCost AS ContractedCost, l.ConsumedQuantity AS ConsumedQuantity
FROM bill_lines l
JOIN line_keys lk ON lk.lid = l.lid
LEFT JOIN clusters c ON c.lc = l.hint
WHERE lk.mkey IS NULL AND NOT EXISTS (SELECT 1 FROM service_line_keys s WHERE s.lid = l.lid)
