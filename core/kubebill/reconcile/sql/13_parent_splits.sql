-- DESIGN §4 Keys, Azure: a VMSS instance's split rows also under its VMSS key (Defender lines name the instance,
-- the AKS agent splits the VMSS), unless the VMSS has split rows of its own.
-- `owned`: the VMSS keys that have split rows of their own, found from the few parent keys (a NOT EXISTS over
-- every split row hashed all 1M of their keys to find none: 0.03-0.06 s, this way 0.002).
WITH parents AS (SELECT DISTINCT pkey FROM split_rows WHERE pkey IS NOT NULL),
     owned AS (SELECT DISTINCT p.pkey AS pkey FROM parents p JOIN split_rows o ON o.skey = p.pkey)
SELECT
  s.pkey AS skey, s.comp AS comp, s.ws AS ws, s.we AS we, s.ws_s AS ws_s, s.we_s AS we_s, s.source AS source,
  s.cluster AS cluster, s.node AS node, s.namespace AS namespace, s.controller_kind AS controller_kind,
  s.controller AS controller, s.pod AS pod, s.container AS container, s.labels AS labels, s.kind AS kind,
  s.wc AS wc, s.wr AS wr, s.wg AS wg, s.f AS f, s.list_cost AS list_cost, s.method AS method,
  s.target AS target, s.oid AS oid
FROM split_rows s
WHERE s.pkey IS NOT NULL AND NOT EXISTS (SELECT 1 FROM owned w WHERE w.pkey = s.pkey)
