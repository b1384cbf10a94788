/* DESIGN §4 Node, volume lines: the target of a matched line no split row overlaps: its node's `__idle__` */
/* (compute, network), else its volume's `__unmounted__`. */
SELECT
  x.skey AS skey,
  XXHASH64(
    x.comp,
    x.cluster,
    x.node,
    x.namespace,
    x.controller_kind,
    x.controller,
    x.pod,
    x.container,
    x.kind,
    x.method
  ) AS tid,
  x.comp AS comp,
  x.cluster AS cluster,
  x.node AS node,
  x.namespace AS namespace,
  x.controller_kind AS controller_kind,
  x.controller AS controller,
  x.pod AS pod,
  x.container AS container,
  x.kind AS kind,
  x.method AS method,
  x.labels AS labels
FROM (
  SELECT
    skey,
    CAST(comp AS STRING) AS comp,
    CAST(cluster AS STRING) AS cluster,
    CAST(CASE WHEN comp = 'compute' THEN node END AS STRING) AS node,
    CAST(CASE WHEN comp IN ('compute', 'network') THEN '__idle__' ELSE '__unmounted__' END AS STRING) AS namespace,
    CAST(NULL AS STRING) AS controller_kind,
    CAST(NULL AS STRING) AS controller,
    CAST(CASE WHEN comp IN ('compute', 'network') THEN '__idle__' ELSE '__unmounted__' END AS STRING) AS pod,
    CAST(NULL AS STRING) AS container,
    CAST(CASE WHEN comp IN ('compute', 'network') THEN 'idle' ELSE 'unmounted' END AS STRING) AS kind,
    CAST(method AS STRING) AS method,
    CAST(NULL AS STRING) AS labels
  FROM split_keys
) AS x
