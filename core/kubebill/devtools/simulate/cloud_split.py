"""The clouds' own Kubernetes splits in the simulated bills (`kubebill simulate --cloud-split`).

- AWS split cost allocation data (SCAD): for every node-hour, two rows per pod running on the node (its vCPU and
  its memory share) in the CUR 2.0, ``line_item_resource_id`` the pod's ARN, ``aws:eks:*`` tags, no cost of their
  own; ``split_line_item_split_cost`` is the pod's share of the node-hour's effective cost and
  ``split_line_item_unused_cost`` its share of the node's unused capacity, as AWS spreads it over the pods.
- GKE cost allocation: every node line (vCPU, RAM) becomes one line per namespace running on the node plus one
  ``kube:unallocated`` line, each labelled ``k8s-namespace`` (sums unchanged, as Google's export).

Both take the pods' shares by the same list-cost weights as the ground truth's node rule (the package doc), so a
merge that follows the cloud's split reproduces the truth of the node lines exactly; AWS's own weights (9:1 of
max(request, usage)) and Google's (requests) differ from OpenCost's in the real world, which is why
`kubebill report --compare cloud` exists. The truth of the lines the cloud splits is written on its own
(`ground_truth_cloud_split.parquet`): without allocation exports (`--no-allocations`) only those reach pods.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from kubebill.devtools.simulate.allocation import HOURS, US_PER_HOUR, ClusterDay
from kubebill.devtools.simulate.lines import Lines, Resource
from kubebill.devtools.simulate.native import hex_of, string_map, timestamps
from kubebill.keys.gcp import NAMESPACE_LABEL, UNALLOCATED_NAMESPACE

CLOUD_SPLIT_TRUTH_KEY = "ground_truth_cloud_split.parquet"

S, F = pa.string(), pa.float64()
# The SCAD columns of a CUR 2.0 with INCLUDE_SPLIT_COST_ALLOCATION_DATA (null on every other line).
SCAD_FIELDS = [
    ("split_line_item_actual_usage", F),
    ("split_line_item_net_split_cost", F),
    ("split_line_item_net_unused_cost", F),
    ("split_line_item_parent_resource_id", S),
    ("split_line_item_public_on_demand_split_cost", F),
    ("split_line_item_public_on_demand_unused_cost", F),
    ("split_line_item_reserved_usage", F),
    ("split_line_item_split_cost", F),
    ("split_line_item_split_usage", F),
    ("split_line_item_split_usage_ratio", F),
    ("split_line_item_unused_cost", F),
]


def with_scad(schema: pa.Schema) -> pa.Schema:
    """A CUR 2.0 schema with the SCAD columns."""
    return pa.schema([*schema, *SCAD_FIELDS])


def widen(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with every column of `schema` (the missing ones null), in its order."""
    return pa.table(
        {f.name: table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
         for f in schema},
        schema=schema,
    )  # fmt: skip


def _node_hours(cd: ClusterDay, blocks: list[Lines]) -> np.ndarray:
    """(4, N, 24) the node lines' four costs per node-hour (a line spread over the hours it covers)."""
    x = np.zeros((4, len(cd.cluster.nodes), HOURS))
    for block in blocks:
        if block.target != "node" or block.cluster is not cd or len(block) == 0:
            continue
        h0 = np.clip((block.start_us - cd.day_start_us) // US_PER_HOUR, 0, HOURS)
        h1 = np.clip((block.end_us - cd.day_start_us) // US_PER_HOUR, 0, HOURS)
        nodes = np.array([res.ref for res in block.resources])[block.r]
        costs = block.costs()
        for i in range(len(block)):
            span = int(h1[i] - h0[i])
            for k in range(span):
                x[:, nodes[i], h0[i] + k] += costs[:, i] / span
    return x


def scad_rows(cd: ClusterDay, blocks: list[Lines], schema: pa.Schema, account: str, region: str) -> pa.Table | None:
    """The SCAD rows of one cluster-day's node lines, in `schema` (a CUR 2.0 with the SCAD columns)."""
    cluster = cd.cluster
    x = _node_hours(cd, blocks)
    weight = cd.list_cost / cd.node_list[cd.c_node]  # (C, 24)
    share_cpu = np.divide(cd.cpu_cost, cd.list_cost, out=np.zeros_like(cd.cpu_cost), where=cd.list_cost > 0)
    pod_weight: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])  # (pod, hour) -> cpu, ram
    for c in range(len(cd.c_pod)):
        for hour in np.nonzero(weight[c] > 0)[0].tolist():
            acc = pod_weight[(int(cd.c_pod[c]), hour)]
            acc[0] += weight[c, hour] * share_cpu[c, hour]
            acc[1] += weight[c, hour] * (1 - share_cpu[c, hour])
    used = np.zeros((len(cluster.nodes), HOURS))
    for (p, hour), (wc, wr) in pod_weight.items():
        used[cluster.pods[p].node, hour] += wc + wr
    rows: dict[str, list[object]] = defaultdict(list)
    pod_tags: list[dict[str, str]] = []
    for (p, h), parts in sorted(pod_weight.items()):
        pod = cluster.pods[p]
        node = cluster.nodes[pod.node]
        effective, listed = x[1, pod.node, h], x[2, pod.node, h]
        if effective == 0 and listed == 0:
            continue
        unused = max(0.0, 1.0 - used[pod.node, h])
        total = used[pod.node, h]
        tags = {
            "aws_eks_cluster_name": cluster.name,
            "aws_eks_namespace": pod.namespace,
            "aws_eks_node": node.name,
            "aws_eks_workload_name": pod.controller,
            "aws_eks_workload_type": pod.controller_kind,
        }
        if pod.controller_kind.lower() == "deployment":
            tags["aws_eks_deployment"] = pod.controller
        arn = f"arn:aws:eks:{region}:{account}:pod/{cluster.name}/{pod.namespace}/{pod.name}/{hex_of(pod.name, 32)}"
        for usage, w in (("vCPU-Hours", parts[0]), ("GB-Hours", parts[1])):
            unused_share = unused * w / total if total > 0 else 0.0
            rows["line_item_resource_id"].append(arn)
            rows["line_item_usage_type"].append(f"USE1-EKS-EC2-{usage}")
            rows["start"].append(cd.day_start_us + h * US_PER_HOUR)
            pod_tags.append(tags)
            rows["split_line_item_parent_resource_id"].append(node.instance_id)
            rows["split_line_item_split_cost"].append(w * effective)
            rows["split_line_item_unused_cost"].append(unused_share * effective)
            rows["split_line_item_net_split_cost"].append(w * effective)
            rows["split_line_item_net_unused_cost"].append(unused_share * effective)
            rows["split_line_item_public_on_demand_split_cost"].append(w * listed)
            rows["split_line_item_public_on_demand_unused_cost"].append(unused_share * listed)
            rows["split_line_item_split_usage_ratio"].append(w)
    n = len(rows["start"])
    if n == 0:
        return None
    start = np.array(rows.pop("start"), dtype=np.int64)
    columns: dict[str, pa.Array] = {name: pa.array(values) for name, values in rows.items()}
    columns |= {
        "bill_payer_account_id": pa.array([account] * n),
        "line_item_usage_account_id": pa.array([account] * n),
        "line_item_line_item_type": pa.array(["Usage"] * n),
        "line_item_product_code": pa.array(["AmazonEC2"] * n),
        "line_item_operation": pa.array(["EKSPod-EC2"] * n),
        "line_item_currency_code": pa.array(["USD"] * n),
        "line_item_unblended_cost": pa.array(np.zeros(n)),
        "line_item_net_unblended_cost": pa.array(np.zeros(n)),
        "line_item_usage_start_date": timestamps(start, "ms"),
        "line_item_usage_end_date": timestamps(start + US_PER_HOUR, "ms"),
        "product_region_code": pa.array([region] * n),
        "resource_tags": string_map(pod_tags, np.arange(n)),
    }
    table = pa.table({name: column.cast(schema.field(name).type) for name, column in columns.items()})
    return widen(table, schema)


def gke_blocks(cd: ClusterDay, blocks: list[Lines]) -> list[Lines]:
    """`blocks` with every node line split into one line per namespace on its node-hour and its unallocated rest,
    each labelled `k8s-namespace` (the four costs and the extras scaled alike: the sums stay)."""
    cluster = cd.cluster
    weight = cd.list_cost / cd.node_list[cd.c_node]  # (C, 24)
    namespaces = sorted({p.namespace for p in cluster.pods})
    ns_weight = np.zeros((len(cluster.nodes), HOURS, len(namespaces) + 1))  # the last: unallocated
    for c in range(len(cd.c_pod)):
        pod = cluster.pods[int(cd.c_pod[c])]
        ns_weight[pod.node, :, namespaces.index(pod.namespace)] += weight[c]
    used = ns_weight[:, :, :-1].sum(axis=2, keepdims=True)
    ns_weight[:, :, :-1] /= np.maximum(used, 1.0)  # never more than the node: the lines' sums stay the bill's
    ns_weight[:, :, -1] = np.maximum(0.0, 1.0 - ns_weight[:, :, :-1].sum(axis=2))
    names = [*namespaces, UNALLOCATED_NAMESPACE]
    out: list[Lines] = []
    for block in blocks:
        if block.target != "node" or len(block) == 0:
            out.append(block)
            continue
        hours = np.clip((block.start_us - cd.day_start_us) // US_PER_HOUR, 0, HOURS - 1)
        resources: list[Resource] = []
        index: dict[tuple[int, int], int] = {}
        r, take, scale = [], [], []
        for i in range(len(block)):
            res = block.resources[block.r[i]]
            for k, w in enumerate(ns_weight[res.ref, hours[i]]):
                if w <= 0:
                    continue
                if (block.r[i], k) not in index:
                    index[(block.r[i], k)] = len(resources)
                    resources.append(
                        Resource(res.id, res.name, {**res.tags, NAMESPACE_LABEL: names[k]}, res.ref, res.attrs)
                    )
                r.append(index[(block.r[i], k)])
                take.append(i)
                scale.append(w)
        rows, factor = np.array(take, dtype=np.int64), np.array(scale)
        split = Lines(
            block.kind,
            block.target,
            resources,
            np.array(r, dtype=np.int64),
            block.start_us[rows],
            block.end_us[rows],
            block.quantity[rows] * factor,
            block.billed[rows] * factor,
            block.effective[rows] * factor,
            block.list_[rows] * factor,
            block.contracted[rows] * factor,
            block.cluster,
        )
        split.extra = {name: values[rows] * factor for name, values in block.extra.items()}
        out.append(split)
    return out
