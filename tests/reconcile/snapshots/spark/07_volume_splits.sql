/* DESIGN §4 Volume lines: a PV's line goes to the pods using it by their share of the PV cost (their byte-hours */
/* when the costs are zero); `__unmounted__` rows hold the unused part. */
/* `pvs IS NOT NULL` lets the Parquet scan skip row groups with no PV (the length alone is computed on every row). */
SELECT
  k.key AS skey,
  'pv' AS comp,
  x.ws AS ws,
  x.we AS we,
  x.source AS source,
  x.cluster AS cluster,
  x.node AS node,
  x.namespace AS namespace,
  x.controller_kind AS controller_kind,
  x.controller AS controller,
  x.pod AS pod,
  x.container AS container,
  x.labels AS labels,
  CASE
    WHEN x.namespace = '__idle__' OR x.pod = '__idle__'
    THEN 'idle'
    WHEN x.namespace = '__unmounted__' OR x.pod = '__unmounted__'
    THEN 'unmounted'
    ELSE 'workload'
  END AS kind,
  GREATEST(COALESCE(x.e.cost, 0), 0) AS wc,
  0.0 AS wr,
  0.0 AS wg,
  GREATEST(COALESCE(x.e.byte_hours, 0), 0) AS f,
  COALESCE(x.e.cost, 0) AS list_cost,
  'opencost-list-cost' AS method
FROM (
  SELECT
    ws,
    we,
    source,
    cluster,
    node,
    namespace,
    controller_kind,
    controller,
    pod,
    container,
    labels,
    EXPLODE(pvs) AS e
  FROM allocation_rows
  WHERE
    source <> 'aks' AND NOT pvs IS NULL AND SIZE(pvs) > 0
) AS x
JOIN keymap AS k
  ON k.raw = x.e.provider_id
