"""The declared Arrow schemas: ALLOCATION (cluster side), COST (bill side, FOCUS names), RESULT (the merge).

Every reader ends in ``conform(table, SCHEMA)``; every writer writes exactly these schemas, so the
Parquet files never drift from day to day and Athena/Glue/BigQuery tables over them stay valid.
Each field carries a one-line description in its metadata (``doc``).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
F64 = pa.float64()
I64 = pa.int64()


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


def doc(field: pa.Field) -> str:
    """The one-line description of a declared field."""
    return str((field.metadata or {}).get(b"doc", b"").decode())


PV = pa.struct(
    [
        _f("name", STR, "PersistentVolume name"),
        _f("provider_id", STR, "cloud disk id (EBS vol-…, Azure disk resource id, GCE disk name)"),
        _f("byte_hours", F64, "requested bytes × hours of the PV used by this row"),
        _f("cost", F64, "list cost of this row's share of the PV"),
    ]
)

LOAD_BALANCER = pa.struct(
    [
        _f("service", STR, "namespace/name of the Service of type LoadBalancer"),
        _f("provider_id", STR, "the load balancer's ip or cloud resource id"),
        _f("hours", F64, "hours of this row's share of the load balancer"),
        _f("cost", F64, "list cost of this row's share of the load balancer"),
    ]
)

ALLOCATION = pa.schema(
    [
        _f("window_start", TS, "start of the allocation step (UTC)", nullable=False),
        _f("window_end", TS, "end of the allocation step (UTC, exclusive)", nullable=False),
        _f("cluster", STR, "cluster name as configured for the export", nullable=False),
        _f("node", STR, "Kubernetes node name"),
        _f(
            "provider_id",
            STR,
            "node providerID (aws:///zone/i-…, azure:///…, gce://…) or the AKS resource id",
        ),
        _f("namespace", STR, "namespace, or __idle__/__unallocated__/__unmounted__"),
        _f("controller_kind", STR, "deployment, statefulset, daemonset, job, …"),
        _f("controller", STR, "controller name"),
        _f("pod", STR, "pod name, or a sentinel"),
        _f("container", STR, "container name, or a sentinel"),
        _f("labels", STR, "JSON object of the pod's labels (never one column per label)"),
        _f("source", STR, "opencost, kubecost or aks", nullable=False),
        _f("minutes", F64, "minutes the allocation ran within the step"),
        _f("cpu_core_hours", F64, "CPU core-hours allocated (max of request and usage)"),
        _f("cpu_core_request_average", F64, "average CPU cores requested"),
        _f("cpu_core_usage_average", F64, "average CPU cores used"),
        _f("ram_byte_hours", F64, "RAM byte-hours allocated"),
        _f("ram_byte_request_average", F64, "average RAM bytes requested"),
        _f("ram_byte_usage_average", F64, "average RAM bytes used"),
        _f("gpu_hours", F64, "GPU-hours allocated"),
        _f("cpu_cost", F64, "CPU list cost"),
        _f("ram_cost", F64, "RAM list cost"),
        _f("gpu_cost", F64, "GPU list cost"),
        _f("pv_cost", F64, "persistent volume list cost"),
        _f("network_cost", F64, "network list cost"),
        _f("load_balancer_cost", F64, "load balancer list cost"),
        _f("shared_cost", F64, "shared list cost"),
        _f("external_cost", F64, "external (out-of-cluster) list cost"),
        _f("total_cost", F64, "total list cost"),
        _f("cpu_efficiency", F64, "CPU usage / request"),
        _f("ram_efficiency", F64, "RAM usage / request"),
        _f("total_efficiency", F64, "cost-weighted efficiency"),
        _f("pvs", pa.list_(PV), "persistent volumes this row uses"),
        _f("load_balancers", pa.list_(LOAD_BALANCER), "load balancers this row uses"),
        _f("fraction", F64, "AKS agent: share of the Azure resource's cost (full precision)"),
        _f("split_bucket", STR, "AKS agent: usage, idle or system"),
    ]
)

_FOCUS_BILL = [
    _f("ChargePeriodStart", TS, "start of the charge period (UTC)"),
    _f("ChargePeriodEnd", TS, "end of the charge period (UTC, exclusive)"),
    _f("BillingPeriodStart", TS, "start of the billing period (UTC)"),
    _f("BillingAccountId", STR, "payer account / billing account / billing profile"),
    _f("SubAccountId", STR, "usage account / subscription / project"),
    _f("ProviderName", STR, "AWS, Microsoft, Google Cloud, …"),
    _f("ServiceName", STR, "the provider's service name"),
    _f("ServiceCategory", STR, "FOCUS service category (Compute, Storage, Networking, …)"),
    _f("ResourceId", STR, "the provider's resource id as billed"),
    _f("ResourceName", STR, "the provider's resource name"),
    _f("ResourceType", STR, "the provider's resource type"),
    _f("RegionId", STR, "region code"),
    _f("SkuId", STR, "SKU / meter / usage type"),
    _f("ChargeCategory", STR, "Usage, Purchase, Tax, Credit, Adjustment"),
    _f("ChargeDescription", STR, "the line's description"),
    _f("PricingCategory", STR, "Standard, Dynamic (spot), Committed (RI/SP/CUD), Other"),
    _f("CommitmentDiscountId", STR, "RI / Savings Plan / CUD id covering the line"),
    _f("CommitmentDiscountType", STR, "Reservation, Savings Plan, Committed Use Discount"),
    _f("BillingCurrency", STR, "currency of every cost column"),
    _f("BilledCost", F64, "actual (invoiced) cost"),
    _f("EffectiveCost", F64, "amortized cost after commitment discounts"),
    _f("ListCost", F64, "public on-demand cost"),
    _f("ContractedCost", F64, "cost at negotiated rates"),
    _f("ConsumedQuantity", F64, "usage quantity"),
    _f("ConsumedUnit", STR, "unit of ConsumedQuantity"),
    _f("Tags", STR, "JSON object of the resource's tags/labels"),
]

COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
# A cost no bill line, nor an allocation row, reaches: two lines of 1e308 would make a day total infinite.
MAX_ABS_COST = 1e15

# The cloud's own Kubernetes split a bill line carries (DESIGN 4, allocation sources): an AWS split cost allocation
# row (one pod's share of its parent instance's line, `parent` set) or a GKE cost-allocation line (the line is
# already one namespace's share of its VM, `parent` null). Null on every other line.
CLOUD_SPLIT = pa.struct(
    [
        _f("parent", STR, "AWS split row: lower-cased key of the parent line's resource (the instance id)"),
        _f("split_cost", F64, "AWS split row: split_line_item_split_cost, the pod's share of the parent"),
        _f("unused_cost", F64, "AWS split row: split_line_item_unused_cost, the parent's unused capacity share"),
        _f("cluster", STR, "the cluster the cloud names (aws:eks:cluster-name, goog-k8s-cluster-name)"),
        _f("node", STR, "the node the cloud names (aws:eks:node; the GKE line's VM)"),
        _f(
            "namespace",
            STR,
            "the namespace (aws:eks:namespace; k8s-namespace, GKE's unallocated as __idle__, its overhead null)",
        ),
        _f("controller_kind", STR, "aws:eks:workload-type"),
        _f("controller", STR, "aws:eks:workload-name"),
        _f("pod", STR, "the pod's name from its ARN (AWS); null on GKE's namespace-level lines"),
        _f("labels", STR, "JSON object of the Kubernetes labels the cloud carries (GKE k8s-label/<key>)"),
    ]
)

COST = pa.schema(
    [
        *_FOCUS_BILL,
        _f(
            "x_ResourceKey",
            STR,
            "lower-cased key the merge matches on (instance id, VMSS instance path, GCE name)",
        ),
        _f("x_ClusterHint", STR, "cluster the bill itself names (tags, AKS node resource group), if any"),
        _f("x_BillingFormat", STR, "the detected export format (aws-cur, aws-cur2, azure-actual, …)"),
        _f("x_SourceKey", STR, "store key of the billing file this line came from"),
        _f("x_SourceRowId", I64, "row number of the line in its file (0-based, data rows only)"),
        _f("x_CloudSplit", CLOUD_SPLIT, "the cloud's own Kubernetes split of the line (AWS SCAD row, GKE labels)"),
    ]
)

K8S_ALLOCATION_KINDS = (
    "workload",
    "idle",
    "system",
    "shared",
    "unmounted",
    "unallocated",
    "estimated",
    "not_kubernetes",
    "external",  # a not_kubernetes line given to a namespace by its tag (KUBEBILL_NAMESPACE_TAGS)
)

RESULT = pa.schema(
    [
        *_FOCUS_BILL,
        _f("AllocatedMethodId", STR, "how the line was split (e.g. opencost-list-cost, aws-split-cost)"),
        _f("AllocatedMethodDetails", STR, 'JSON: {"Elements": [{"AllocatedRatio": r, …}]}'),
        _f(
            "AllocatedResourceId",
            STR,
            "the Kubernetes object the cost is allocated to (cluster/namespace/pod/container)",
        ),
        _f("AllocatedResourceName", STR, "short name of the allocated object"),
        _f("AllocatedTags", STR, "JSON object of the allocated object's labels"),
        _f("x_K8sCluster", STR, "cluster"),
        _f("x_K8sNode", STR, "node"),
        _f("x_K8sNamespace", STR, "namespace or sentinel"),
        _f("x_K8sControllerKind", STR, "controller kind"),
        _f("x_K8sController", STR, "controller"),
        _f("x_K8sPod", STR, "pod or sentinel"),
        _f("x_K8sContainer", STR, "container or sentinel"),
        _f("x_K8sLabels", STR, "JSON object of pod labels"),
        _f(
            "x_K8sAllocation",
            STR,
            "workload, idle, system, shared, unmounted, unallocated, estimated, not_kubernetes, external; a row "
            "an allocation policy moved keeps its origin (idle, shared, external) under the receiving namespace",
        ),
        _f(
            "x_K8sCostComponent",
            STR,
            "what the origin line paid for: compute, pv, load_balancer, network, shared, other",
        ),
        _f("x_K8sCpuRatio", F64, "share of this compute row's cost that is CPU (by list cost)"),
        _f("x_K8sRamRatio", F64, "share of this compute row's cost that is RAM (by list cost)"),
        _f("x_K8sGpuRatio", F64, "share of this compute row's cost that is GPU (by list cost)"),
        _f("x_SourceKey", STR, "store key of the origin bill line's file (or allocation file for estimates)"),
        _f("x_SourceRowId", I64, "row number of the origin line in that file"),
    ]
)


def empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select, order and cast `table` to `schema`; missing nullable columns become nulls.

    Raises ValueError naming the column when a required column is missing or a cast fails.
    """
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            try:
                columns.append(column.cast(field.type) if column.type != field.type else column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"column {field.name!r}: expected {field.type}, found {column.type} ({exc})") from None
        elif field.nullable:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ValueError(f"missing required column {field.name!r}")
    return pa.Table.from_arrays(columns, schema=schema)
