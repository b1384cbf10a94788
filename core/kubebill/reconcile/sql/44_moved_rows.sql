-- DESIGN §4 Policies: the rows the policies made, a moved row's cost handed to its receivers in their parts
-- (ratio and every cost column scaled by the part), `moved` saying which policy moved it from which bucket.
-- Stored once: `allocated_rows`, a view, reads it on each of its uses.
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
