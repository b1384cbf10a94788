/* DESIGN §4 Cluster-scoped lines, lines outside every cluster: the lines no key matched, with the exported */
/* cluster their hint names (none when no export of that cluster is in the day). `passes`: a line no hint names a */
/* cluster of passes through whole as `not_kubernetes` (`passed_lines`), unless a tag policy ($namespace_tags) may */
/* still move it to a namespace (then it is split as `not_kubernetes` like any line, `unmatched_splits`). */
SELECT
  l.lid AS lid,
  l.cps AS cps,
  l.cpe AS cpe,
  l.hint AS hint,
  c.cluster AS cluster,
  c.cluster IS NULL AND l.hint IS NULL AND :namespace_tags = '' AS passes,
  l.BillingCurrency AS BillingCurrency,
  l.BilledCost AS BilledCost,
  l.EffectiveCost AS EffectiveCost,
  l.ListCost AS ListCost,
  l.ContractedCost AS ContractedCost,
  l.ConsumedQuantity AS ConsumedQuantity
FROM bill_lines AS l
JOIN line_keys AS lk
  ON lk.lid = l.lid
LEFT JOIN clusters AS c
  ON c.lc = l.hint
WHERE
  lk.mkey IS NULL
  AND NOT EXISTS(
    SELECT
      1
    FROM service_line_keys AS s
    WHERE
      s.lid = l.lid
  )
