-- DESIGN §4 Allocation with no bill yet: the split rows no matched line covers, at list price (the AKS agent's
-- fractions carry no price), one row per target and key, with the allocation export they came from. The covered
-- coverages are a LEFT JOIN, not NOT EXISTS: DuckDB plans that one as a delim join copying every split row (0.3 s
-- of 0.45 at 1M lines). The uncovered ids are found first on the id alone, then their rows read: a day whose every
-- split row is covered reads none of their text (1M lines: 0.1 s).
SELECT s.skey AS skey, s.comp AS comp, s.cluster AS cluster, s.node AS node, s.namespace AS namespace,
       s.controller_kind AS controller_kind, s.controller AS controller, s.pod AS pod, s.container AS container,
       any_value(s.labels) AS labels, s.kind AS kind, min(s.ws) AS ws, max(s.we) AS we,
       sum(s.list_cost) AS list_cost, min(k.key) AS source_key
FROM (SELECT skey, comp, cluster, node, namespace, controller_kind, controller, pod, container, labels, kind, ws,
             we, list_cost, source
      FROM split_rows r
      JOIN (SELECT u.oid AS oid
            FROM (SELECT DISTINCT oid FROM split_rows
                  WHERE list_cost <> 0 AND method <> 'aks-cost-analysis-fraction') u
            LEFT JOIN (SELECT DISTINCT oid AS covered FROM pairs) p ON p.covered = u.oid
            WHERE p.covered IS NULL) x ON x.oid = r.oid
      WHERE r.list_cost <> 0 AND r.method <> 'aks-cost-analysis-fraction') s
LEFT JOIN allocation_keys k ON k.cluster = s.cluster AND k.source = s.source
GROUP BY s.skey, s.comp, s.cluster, s.node, s.namespace, s.controller_kind, s.controller, s.pod, s.container,
         s.kind
