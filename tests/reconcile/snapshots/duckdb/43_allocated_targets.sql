-- DESIGN §4: every target of the day once, the policies' after the split's, numbered densely (`tno`).
SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method, labels, tno
FROM targets
UNION ALL
SELECT tid, comp, cluster, node, namespace, controller_kind, controller, pod, container, kind, method, labels, tno
FROM policy_targets
