-- DESIGN §4 Cluster-scoped lines and lines outside every cluster: an unmatched line not spread by namespace goes
-- whole to `__shared__` of its exported cluster, to `__unallocated__` of a hinted cluster with no export, else
-- is `not_kubernetes`. A line passed through before the split (`passes`, the lines of `passed_lines`) has no row
-- here: left out by that flag, not by an anti-join with `passed_lines` (1M lines: 0.07-0.10 s in one thread).
SELECT x.lid AS lid,
       xxhash64(x.comp, x.cluster, x.node, x.namespace, x.controller_kind, x.controller, x.pod, x.container,
                x.kind, x.method) AS tid,
       x.comp AS comp, x.cluster AS cluster, x.node AS node, x.namespace AS namespace,
       x.controller_kind AS controller_kind, x.controller AS controller, x.pod AS pod, x.container AS container,
       x.kind AS kind, x.method AS method, x.labels AS labels
FROM (SELECT lid,
             CAST(CASE WHEN cluster IS NULL AND hint IS NULL THEN 'other' ELSE 'shared' END AS VARCHAR) AS comp,
             CAST(coalesce(cluster, hint) AS VARCHAR) AS cluster, CAST(NULL AS VARCHAR) AS node,
             CAST(CASE WHEN cluster IS NOT NULL THEN '__shared__'
                       WHEN hint IS NOT NULL THEN '__unallocated__' END AS VARCHAR) AS namespace,
             CAST(NULL AS VARCHAR) AS controller_kind, CAST(NULL AS VARCHAR) AS controller,
             CAST(CASE WHEN cluster IS NOT NULL THEN '__shared__'
                       WHEN hint IS NOT NULL THEN '__unallocated__' END AS VARCHAR) AS pod,
             CAST(NULL AS VARCHAR) AS container,
             CAST(CASE WHEN cluster IS NOT NULL THEN 'shared'
                       WHEN hint IS NOT NULL THEN 'unallocated' ELSE 'not_kubernetes' END AS VARCHAR) AS kind,
             CAST(CASE WHEN cluster IS NOT NULL OR hint IS NOT NULL THEN 'kubebill-shared' END AS VARCHAR)
               AS method,
             CAST(NULL AS VARCHAR) AS labels
      FROM unmatched_lines u
      WHERE NOT EXISTS (SELECT 1 FROM shared_weights w WHERE w.lid = u.lid)
        AND NOT u.passes) x
