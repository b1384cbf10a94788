-- DESIGN §4 Policies: the day's rows once the policies ran, what the invariants check and the writer widens: a
-- split row no policy moved as it is; a moved row's cost handed to its receivers in their parts (ratio and every
-- cost column scaled by the part), `moved` saying which policy moved it from which bucket.
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
SELECT r.lid AS lid, g.tno AS tno, r.comp AS comp, g.kind AS kind, g.method AS method, false AS neg_idle,
       sum(r.ratio * m.part) AS ratio, m.unit AS unit, m.qty AS qty, CAST(NULL AS DOUBLE) AS cpu_ratio,
       CAST(NULL AS DOUBLE) AS ram_ratio, CAST(NULL AS DOUBLE) AS gpu_ratio, r.BillingCurrency AS BillingCurrency,
       sum(r.BilledCost * m.part) AS BilledCost, sum(r.EffectiveCost * m.part) AS EffectiveCost,
       sum(r.ListCost * m.part) AS ListCost, sum(r.ContractedCost * m.part) AS ContractedCost,
       sum(r.ConsumedQuantity * m.part) AS ConsumedQuantity,
       '"x_AllocationPolicy":{"Policy":"' || g.method || '","From":"' || m.from_kind || '","FromNamespace":'
         || coalesce('"' || m.from_namespace || '"', 'null') || ',"Share":' || CAST(m.part AS VARCHAR) || '}'
         AS moved
FROM (SELECT lid, tno, tid, part, unit, qty, from_kind, from_namespace FROM idle_shares
      UNION ALL
      SELECT lid, tno, tid, part, unit, qty, from_kind, from_namespace FROM shared_shares
      UNION ALL
      SELECT lid, tno, tid, part, unit, qty, from_kind, from_namespace FROM external_rows) m
JOIN result_rows r ON r.lid = m.lid AND r.tno = m.tno
JOIN policy_targets g ON g.tid = m.tid
GROUP BY r.lid, g.tno, r.comp, g.kind, g.method, m.unit, m.qty, r.BillingCurrency, m.part, m.from_kind,
         m.from_namespace
