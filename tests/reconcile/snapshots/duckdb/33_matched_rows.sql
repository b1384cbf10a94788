-- DESIGN §4 Node, volume, load-balancer lines: each matched line split over its targets by weight (else by
-- fallback amount, else evenly), every cost column scaled by the row's ratio. A node's `__idle__` takes the
-- node's rest and never less than zero (the slice is flagged, `neg_idle`, when the pods' list cost exceeds it).
SELECT x.lid AS lid, x.tno AS tno, x.comp AS comp, x.kind AS kind, x.method AS method, x.neg_idle AS neg_idle,
       x.ratio AS ratio, x.unit AS unit, x.qty AS qty, x.cpu_ratio AS cpu_ratio, x.ram_ratio AS ram_ratio,
       x.gpu_ratio AS gpu_ratio, l.BillingCurrency AS BillingCurrency,
       CAST(l.BilledCost * x.ratio AS DOUBLE) AS BilledCost,
       CAST(l.EffectiveCost * x.ratio AS DOUBLE) AS EffectiveCost,
       CAST(l.ListCost * x.ratio AS DOUBLE) AS ListCost,
       CAST(l.ContractedCost * x.ratio AS DOUBLE) AS ContractedCost,
       CAST(l.ConsumedQuantity * x.ratio AS DOUBLE) AS ConsumedQuantity
FROM (SELECT w.lid AS lid, w.tno AS tno, w.comp AS comp, w.kind AS kind, w.method AS method,
             w.neg_idle AS neg_idle,
             CASE WHEN w.tw > 0 THEN w.w / w.tw WHEN w.tf > 0 THEN w.f / w.tf ELSE 1.0 / w.n END AS ratio,
             CASE WHEN w.tw > 0 THEN CASE w.method WHEN 'aks-cost-analysis-fraction' THEN 'Fraction'
                                                   WHEN 'aws-split-cost-allocation-data' THEN 'SplitCost'
                                                   WHEN 'gke-cost-allocation' THEN 'Count'
                                                   WHEN 'opencost-list-cost' THEN 'ListCost'
                                                   ELSE 'WeightedCapacityShare' END
                  WHEN w.tf > 0 THEN 'Minutes' ELSE 'Count' END AS unit,
             CASE WHEN w.tw > 0 THEN w.w WHEN w.tf > 0 THEN w.f ELSE 1.0 END AS qty,
             CASE WHEN w.comp = 'compute' AND w.wc + w.wr + w.wg > 0 AND w.method NOT IN (
                    'aks-cost-analysis-fraction', 'aws-split-cost-allocation-data', 'gke-cost-allocation')
                  THEN w.wc / (w.wc + w.wr + w.wg) END AS cpu_ratio,
             CASE WHEN w.comp = 'compute' AND w.wc + w.wr + w.wg > 0 AND w.method NOT IN (
                    'aks-cost-analysis-fraction', 'aws-split-cost-allocation-data', 'gke-cost-allocation')
                  THEN w.wr / (w.wc + w.wr + w.wg) END AS ram_ratio,
             CASE WHEN w.comp = 'compute' AND w.wc + w.wr + w.wg > 0 AND w.method NOT IN (
                    'aks-cost-analysis-fraction', 'aws-split-cost-allocation-data', 'gke-cost-allocation')
                  THEN w.wg / (w.wc + w.wr + w.wg) END AS gpu_ratio
      FROM (SELECT t.lid AS lid, t.wc AS wc, t.wr AS wr, t.wg AS wg, t.f AS f, g.tno AS tno, g.comp AS comp,
                   g.kind AS kind, g.method AS method, greatest(t.wc + t.wr + t.wg, 0) AS w,
                   (g.kind = 'idle' AND t.wc + t.wr + t.wg < 0) AS neg_idle, tot.tw AS tw, tot.tf AS tf,
                   tot.n AS n
            FROM line_weights t
            JOIN targets g ON g.tid = t.tid
            JOIN (SELECT lid, sum(greatest(wc + wr + wg, 0)) AS tw, sum(f) AS tf, count(*) AS n
                  FROM line_weights GROUP BY lid) tot ON tot.lid = t.lid) w) x
JOIN bill_lines l ON l.lid = x.lid
