-- DESIGN §4 Keys: every split row a bill line can match, under its own key or its VMSS's (`via_parent`).
SELECT skey, comp, ws, we, ws_s, we_s, source, cluster, node, namespace, controller_kind, controller, pod,
       container, labels, kind, wc, wr, wg, f, list_cost, method, target, oid, false AS via_parent
FROM split_rows
UNION ALL
SELECT skey, comp, ws, we, ws_s, we_s, source, cluster, node, namespace, controller_kind, controller, pod,
       container, labels, kind, wc, wr, wg, f, list_cost, method, target, oid, true AS via_parent
FROM parent_splits
