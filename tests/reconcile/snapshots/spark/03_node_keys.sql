/* DESIGN §4 Keys / Node lines: the bill key of each (cluster, node), from its provider id. */
SELECT
  a.cluster AS cluster,
  a.node AS node,
  MIN(k.key) AS key
FROM allocation_rows AS a
JOIN keymap AS k
  ON k.raw = a.provider_id
WHERE
  a.source <> 'aks' AND NOT a.node IS NULL
GROUP BY
  a.cluster,
  a.node
