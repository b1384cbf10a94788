"""The split table (DESIGN 4, stage 3): for each billed resource key and time slice, the targets and their weights.

One SQL statement over the day's allocation rows (`a`, with `ws`, `we`) and the provider-id key map
(`keymap(raw, key)`), producing `splits` with one row per allocation row and key it can be billed under:

- node rows (OpenCost/Kubecost) under the node's key, weights from the selected method, the node's
  `__idle__` rows as its idle target;
- PV rows (`pvs[]`) under the disk's key, weighted by the PV cost share (byte-hours when costs are zero);
- load-balancer rows (`load_balancers[]`) under the LB's key, by cost share (hours when zero);
- AKS agent rows under their Azure resource id, weighted by the agent's `fraction`.

Columns: skey, comp (compute|pv|load_balancer|network), ws, we, target columns, kind (workload|idle|system|
unmounted), wc/wr/wg (the CPU/RAM/GPU parts of the weight; other components put their whole weight in wc),
f (fallback weight when every weight of a line is zero), list_cost (for estimates), method.

It also creates `lbkeys` (lower-cased cluster, the Service's lower-cased ``namespace/name``, the LB's split key
and the epoch seconds its allocation spans), which `service_lines_sql` uses to bill Azure lines that name no
allocated key: a Service's public IP (tagged ``k8s-azure-service: <namespace>/<name>`` by the AKS cloud
provider; one IP shared by several Services carries them comma-separated) goes to that Service's LB rows, and a
load balancer of the AKS node resource group (``kubernetes``, shared by every public LoadBalancer Service of
the cluster, per-service key none; ``kubernetes-internal`` for the internal ones, whose IPs are private) is split
over the matching LB rows of the cluster overlapping the line, by their list cost. A line with no such LB rows
stays with the cluster-scoped rule (`__shared__`).
"""

from __future__ import annotations

from kubebill.keys import azure
from kubebill.model import IDLE, UNMOUNTED

OPENCOST_LIST_COST = "opencost-list-cost"
AWS_SPLIT_COST = "aws-split-cost"
AKS_FRACTION = "aks-cost-analysis-fraction"
METHODS = (OPENCOST_LIST_COST, AWS_SPLIT_COST)

# AWS split cost allocation data weights CPU and memory 9:1 over max(request, usage).
AWS_CPU_WEIGHT = 0.9
AWS_RAM_WEIGHT = 0.1

_TARGET = "cluster, node, namespace, controller_kind, controller, pod, container, labels"

_KIND = f"""CASE WHEN namespace = '{IDLE}' OR pod = '{IDLE}' THEN 'idle'
             WHEN namespace = '{UNMOUNTED}' OR pod = '{UNMOUNTED}' THEN 'unmounted'
             ELSE 'workload' END"""


def _node_weights(method: str) -> str:
    """wc, wr, wg of a node row: list cost parts, or AWS split-cost's 9:1 shares of the node's capacity."""
    if method == OPENCOST_LIST_COST:
        return "coalesce(cpu_cost, 0) AS wc, coalesce(ram_cost, 0) AS wr, coalesce(gpu_cost, 0) AS wg"
    if method == AWS_SPLIT_COST:
        return f"""
          CASE WHEN cap_cpu > 0 THEN {AWS_CPU_WEIGHT} * cpu_units / cap_cpu ELSE 0 END AS wc,
          CASE WHEN cap_ram > 0 THEN {AWS_RAM_WEIGHT} * ram_units / cap_ram ELSE 0 END AS wr,
          0.0 AS wg"""
    raise ValueError(f"unknown split method {method!r}; expected one of {', '.join(METHODS)}")


def _nested(comp: str, column: str, fallback: str) -> str:
    """Split rows of a nested list (pvs, load_balancers): weight = the entry's cost, else its `fallback` amount."""
    return f"""SELECT k.key, '{comp}', ws, we, source, {_TARGET}, {_KIND},
  greatest(coalesce(e.cost, 0), 0), 0.0, 0.0, greatest(coalesce(e.{fallback}, 0), 0),
  coalesce(e.cost, 0), '{OPENCOST_LIST_COST}'
FROM (SELECT *, unnest({column}) AS e FROM a WHERE source <> 'aks' AND len({column}) > 0) x
JOIN keymap k ON k.raw = e.provider_id"""


def _with_capacity(method: str) -> str:
    """node_rows, with the node's CPU and RAM capacity per step when the weights need them."""
    if method != AWS_SPLIT_COST:
        return "node_rows"
    return """(SELECT *, sum(cpu_units) OVER w AS cap_cpu, sum(ram_units) OVER w AS cap_ram
      FROM node_rows WINDOW w AS (PARTITION BY skey, ws))"""


def split_table_sql(method: str) -> str:
    """CREATE the `splits` temp table from `a` and `keymap` (see the module doc)."""
    return f"""
CREATE OR REPLACE TEMP TABLE nodekeys AS
SELECT a.cluster, a.node, min(k.key) AS key
FROM a JOIN keymap k ON k.raw = a.provider_id
WHERE a.source <> 'aks' AND a.node IS NOT NULL
GROUP BY ALL;

CREATE OR REPLACE TEMP VIEW node_rows AS
SELECT nk.key AS skey, ws, we, source, a.cluster, a.node, namespace, controller_kind, controller, pod, container,
  labels, minutes, cpu_cost, ram_cost, gpu_cost, {_KIND} AS kind,
  coalesce(greatest(cpu_core_request_average, cpu_core_usage_average)
           * minutes / 60 * CASE WHEN {_KIND} = 'idle' THEN NULL ELSE 1 END,
           cpu_core_hours, 0) AS cpu_units,
  coalesce(greatest(ram_byte_request_average, ram_byte_usage_average)
           * minutes / 60 * CASE WHEN {_KIND} = 'idle' THEN NULL ELSE 1 END,
           ram_byte_hours, 0) AS ram_units
FROM a JOIN nodekeys nk ON nk.cluster = a.cluster AND nk.node = a.node
WHERE a.source <> 'aks';

CREATE OR REPLACE TEMP TABLE splits AS
SELECT skey, 'compute' AS comp, ws, we, source, {_TARGET}, kind, {_node_weights(method)},
  CASE WHEN kind = 'idle' THEN 0 ELSE coalesce(minutes, 0) END AS f,
  coalesce(cpu_cost, 0) + coalesce(ram_cost, 0) + coalesce(gpu_cost, 0) AS list_cost,
  '{method}' AS method
FROM {_with_capacity(method)}
UNION ALL
{_nested("pv", "pvs", "byte_hours")}
UNION ALL
{_nested("load_balancer", "load_balancers", "hours")}
UNION ALL
SELECT k.key,
  {azure.AKS_COMPONENT.format("k.key")},
  ws, we, source, {_TARGET},
  CASE lower(split_bucket) WHEN 'idle' THEN 'idle' WHEN 'system' THEN 'system' ELSE 'workload' END,
  greatest(coalesce(fraction, 0), 0), 0.0, 0.0, 1.0,
  coalesce(cpu_cost, 0) + coalesce(ram_cost, 0) + coalesce(gpu_cost, 0) + coalesce(pv_cost, 0)
    + coalesce(load_balancer_cost, 0) + coalesce(network_cost, 0),
  '{AKS_FRACTION}'
FROM a JOIN keymap k ON k.raw = a.provider_id
WHERE a.source = 'aks';

CREATE OR REPLACE TEMP TABLE lbkeys AS
SELECT lower(x.cluster) AS lc, lower(x.e.service) AS service, k.key AS skey,
  regexp_matches(lower(x.e.provider_id), '{azure.PRIVATE_IP}') AS internal,
  min(epoch(x.ws)) AS ks, max(epoch(x.we)) AS ke
FROM (SELECT cluster, ws, we, unnest(load_balancers) AS e FROM a
      WHERE source <> 'aks' AND len(load_balancers) > 0) x
JOIN keymap k ON k.raw = x.e.provider_id
WHERE x.e.service IS NOT NULL
GROUP BY ALL;
"""


def service_lines_sql() -> str:
    """Give lines of `l` that `lm` left unmatched their LB keys from `lbkeys` (see the module doc): one `lm` row
    per (line, key), so the engine splits the line over all of them by weight."""
    return f"""
CREATE OR REPLACE TEMP TABLE lbm AS
WITH c AS (
  SELECT l.lid, l.cps, l.cpe, l.hint, ends_with(l.rk, '-internal') AS internal,
    CASE WHEN regexp_matches(l.rk, '{azure.LOAD_BALANCER}') THEN NULL
         ELSE string_split(replace(lower(regexp_extract(lower(l.Tags), '{azure.SERVICE_TAG}', 1)), ' ', ''), ',')
    END AS services
  FROM l JOIN lm USING (lid)
  WHERE lm.mkey IS NULL AND l.hint IS NOT NULL AND starts_with(l.rk, '/subscriptions/')
    AND (regexp_matches(l.rk, '{azure.LOAD_BALANCER}') OR contains(lower(l.Tags), 'k8s-azure-service')))
SELECT DISTINCT c.lid, c.cps, c.cpe, k.skey AS mkey
FROM c JOIN lbkeys k ON k.lc = c.hint AND k.ks < epoch(c.cpe) AND k.ke > epoch(c.cps)
WHERE (c.services IS NULL AND k.internal = c.internal) OR list_contains(c.services, k.service);
DELETE FROM lm WHERE lid IN (SELECT lid FROM lbm);
INSERT INTO lm (lid, cps, cpe, mkey) SELECT lid, cps, cpe, mkey FROM lbm;
DROP TABLE lbm;
"""
