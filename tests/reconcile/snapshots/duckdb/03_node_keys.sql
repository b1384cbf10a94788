-- DESIGN §4 Keys / Node lines: the bill key of each (cluster, node), from its provider id.
SELECT a.cluster AS cluster, a.node AS node, min(k.key) AS key
FROM allocation_rows a JOIN keymap k ON k.raw = a.provider_id
WHERE a.source <> 'aks' AND a.node IS NOT NULL
GROUP BY a.cluster, a.node
