/* DESIGN §4 Keys, Azure: a VMSS instance's split rows also under its VMSS key (Defender lines name the instance, */
/* the AKS agent splits the VMSS), unless the VMSS has split rows of its own. */
SELECT
  s.pkey AS skey,
  s.comp AS comp,
  s.ws AS ws,
  s.we AS we,
  s.ws_s AS ws_s,
  s.we_s AS we_s,
  s.source AS source,
  s.cluster AS cluster,
  s.node AS node,
  s.namespace AS namespace,
  s.controller_kind AS controller_kind,
  s.controller AS controller,
  s.pod AS pod,
  s.container AS container,
  s.labels AS labels,
  s.kind AS kind,
  s.wc AS wc,
  s.wr AS wr,
  s.wg AS wg,
  s.f AS f,
  s.list_cost AS list_cost,
  s.method AS method,
  s.target AS target,
  s.oid AS oid
FROM split_rows AS s
WHERE
  NOT s.pkey IS NULL
  AND NOT EXISTS(
    SELECT
      1
    FROM split_rows AS p
    WHERE
      p.skey = s.pkey
  )
