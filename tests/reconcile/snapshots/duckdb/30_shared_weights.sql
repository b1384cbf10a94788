-- DESIGN §4 Policies, shared spread `weighted`: a cluster's shared line spread over its namespaces by their list
-- cost overlapping the line (`__shared__` of each namespace).
SELECT x.lid AS lid, x.w AS w,
       xxhash64(x.comp, x.cluster, x.node, x.namespace, x.controller_kind, x.controller, x.pod, x.container,
                x.kind, x.method) AS tid,
       x.comp AS comp, x.cluster AS cluster, x.node AS node, x.namespace AS namespace,
       x.controller_kind AS controller_kind, x.controller AS controller, x.pod AS pod, x.container AS container,
       x.kind AS kind, x.method AS method, x.labels AS labels
FROM (SELECT w.lid AS lid, w.w AS w, CAST('shared' AS VARCHAR) AS comp, CAST(u.cluster AS VARCHAR) AS cluster,
             CAST(NULL AS VARCHAR) AS node, CAST(w.namespace AS VARCHAR) AS namespace,
             CAST(NULL AS VARCHAR) AS controller_kind, CAST(NULL AS VARCHAR) AS controller,
             CAST('__shared__' AS VARCHAR) AS pod, CAST(NULL AS VARCHAR) AS container,
             CAST('shared' AS VARCHAR) AS kind, CAST('kubebill-shared-weighted' AS VARCHAR) AS method,
             CAST(NULL AS VARCHAR) AS labels
      FROM (SELECT u.lid AS lid, a.namespace AS namespace,
                   sum(greatest(coalesce(a.total_cost, 0), 0)
                       * (least(a.we_s, u.ce, (a.hb + 1) * 3600.0) - greatest(a.ws_s, u.cs, a.hb * 3600.0))
                       / (a.we_s - a.ws_s)) AS w
            FROM (SELECT lid, cluster, epoch(cps) AS cs, epoch(cpe) AS ce,
                         unnest(generate_series(CAST(floor(epoch(cps) / 3600) AS BIGINT),
                                                CAST(ceil(epoch(cpe) / 3600) AS BIGINT) - 1)) AS hb
                  FROM unmatched_lines WHERE cluster IS NOT NULL) u
            JOIN (SELECT cluster, namespace, total_cost, ws_s, we_s,
                         unnest(generate_series(CAST(floor(ws_s / 3600) AS BIGINT),
                                                CAST(ceil(we_s / 3600) AS BIGINT) - 1)) AS hb
                  FROM namespace_costs) a
              ON a.cluster = u.cluster AND a.hb = u.hb
            WHERE least(a.we_s, u.ce, (a.hb + 1) * 3600.0) - greatest(a.ws_s, u.cs, a.hb * 3600.0) > 0
            GROUP BY u.lid, a.namespace) w
      JOIN unmatched_lines u ON u.lid = w.lid
      WHERE w.w > 0) x
