/* DESIGN §4 Node, volume, load-balancer lines and the AKS agent: the day's split table, one row per allocation */
/* row (or PV, LB entry) and key. `target` ids the row's target (a 64-bit hash of its columns); `oid` ids the */
/* coverage of the row (its key and step: rows alike in both are covered by the same lines); `pkey` is the VMSS of */
/* a VMSS instance key. Where the cloud's split is used, a node's allocation-export rows give way to it. */
SELECT
  s.skey AS skey,
  s.comp AS comp,
  s.ws AS ws,
  s.we AS we,
  UNIX_TIMESTAMP(s.ws) AS ws_s,
  UNIX_TIMESTAMP(s.we) AS we_s,
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
  XXHASH64(
    s.comp,
    s.cluster,
    s.node,
    s.namespace,
    s.controller_kind,
    s.controller,
    s.pod,
    s.container,
    s.kind,
    s.method
  ) AS target,
  XXHASH64(s.skey, UNIX_TIMESTAMP(s.ws), UNIX_TIMESTAMP(s.we)) AS oid,
  CASE
    WHEN LOCATE('/virtualmachines/', s.skey) > 0
    THEN NULLIF(
      REGEXP_EXTRACT(s.skey, '^(.*/virtualmachinescalesets/[^/]+)/virtualmachines/[^/]+$'),
      ''
    )
  END AS pkey
FROM (
  SELECT
    skey,
    comp,
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
    kind,
    wc,
    wr,
    wg,
    f,
    list_cost,
    method
  FROM node_splits AS n
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM cloud_splits AS c
      WHERE
        c.nkey = n.skey
    )
  UNION ALL
  SELECT
    skey,
    comp,
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
    kind,
    wc,
    wr,
    wg,
    f,
    list_cost,
    method
  FROM volume_splits
  UNION ALL
  SELECT
    skey,
    comp,
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
    kind,
    wc,
    wr,
    wg,
    f,
    list_cost,
    method
  FROM lb_splits
  UNION ALL
  SELECT
    skey,
    comp,
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
    kind,
    wc,
    wr,
    wg,
    f,
    list_cost,
    method
  FROM aks_splits
  UNION ALL
  SELECT
    skey,
    comp,
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
    kind,
    wc,
    wr,
    wg,
    f,
    list_cost,
    method
  FROM cloud_splits
) AS s
