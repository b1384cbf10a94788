"""Deterministic synthetic clusters on AWS, Azure and Google Cloud, with native bills and their ground truth.

`simulate(out, Scenario(...))` writes into the store folder `out` (same scenario, same bytes):

- ``allocations/cluster=<c>/year=/month=/day=/opencost.parquet`` — hourly OpenCost allocations in the
  ALLOCATION schema: one row per running container per hour, one ``__idle__`` row per node per hour
  (idleByNode), one ``__unmounted__`` row per hour for the PV no pod mounts; every cost at list price.
  `serve_opencost(scenario, cluster)` answers ``/allocation/compute`` with the same numbers.
- ``billing/aws/<export>/{data,metadata}/BILLING_PERIOD=YYYY-MM/…`` CUR 2.0 parquet + manifest;
  ``billing/azure/exports/<export>/<YYYYMMDD-YYYYMMDD>/<runId>/part_0_0001.csv`` + ``manifest.json`` for
  ActualCost and AmortizedCost; ``billing/gcp/billing_export/<YYYY-MM-DD>/000000000000.parquet``.
- ``ground_truth.parquet`` — the true cost per (provider, cluster, namespace, pod, day, allocation) under
  BilledCost, EffectiveCost, ListCost and ContractedCost, computed from the generative model, never from
  the files.

How a bill line's four costs are defined (what a reader must produce for the truth to hold):

- AWS: Billed = ``line_item_unblended_cost``; Effective = ``reservation_effective_cost`` (DiscountedUsage),
  ``savings_plan_savings_plan_effective_cost`` (SavingsPlanCoveredUsage), 0 for SavingsPlanNegation, RIFee and
  SavingsPlanRecurringFee (commitments fully used), else unblended (Tax, Credit, the support Fee included);
  List = ``pricing_public_on_demand_cost``; Contracted = unblended.
- Azure: Billed = ``CostInBillingCurrency`` of ActualCost, Effective = the same of AmortizedCost (the purchase
  rows exist only in ActualCost), List = ``PayGPrice × Quantity``, Contracted = ``UnitPrice × Quantity``.
- GCP: Billed = Effective = ``cost + Σ credits.amount``; List = ``cost_at_list``; Contracted = ``cost``.

Truth definition (what a perfect merge reproduces):

- Node lines (compute hours of any pricing — on-demand, spot, RI/reservation/CUD-covered, Savings Plan
  covered and its negation — and per-instance lines such as Defender) of a node-slice (an hour for hourly
  lines; a daily line is spread evenly over its hours, the node's list price being constant) are shared
  among the containers running on the node by their list-cost weight (cpu + ram + gpu list cost ÷ the node's
  list cost for the slice); the rest goes to ``__idle__`` (allocation ``idle``, summed over the cluster's nodes).
- PV disk lines go to the pod mounting the PV (it runs the whole time), an unmounted PV's to
  ``__unmounted__`` (``unmounted``); a Service's load-balancer lines (the AWS NLB, the Azure public IP tagged
  ``k8s-azure-service``) to its pods in equal parts (they run the whole time, so this is their LB cost share).
- The AKS cluster load balancer (``kubernetes``, one for every LoadBalancer Service of the cluster) goes to the
  cluster's Services by their list price, then as above; with no Service, to ``__shared__``.
- Cluster-scoped lines (control-plane fee, node OS/boot disks, NAT gateway, the AKS outbound IP) go to
  ``__shared__`` (``shared``).
- Lines outside every cluster (databases, object storage, commitment fees and purchases, tax, credits,
  support) are ``not_kubernetes`` with null cluster/namespace/pod, on the UTC day their charge period starts
  (monthly lines on the 1st of their month). So is a line nothing on which ties it to a cluster, though a
  cluster caused it: a GKE Service's forwarding rule (named ``a<Service UID>``, no labels; OpenCost gives the
  Service's name and IP, never its UID), whose cost OpenCost still reports at list price.

The truth is policy-neutral (DESIGN 4 Policies off). What the policies act on: the system namespaces kube-system
and monitoring (pods labelled ``team=platform``), and the tagged database and bucket outside every cluster
(`model.database_tags`, `model.BUCKET_TAGS`, the same on the three clouds), whose lines a merge with
``KUBEBILL_NAMESPACE_TAGS=team,k8s-namespace`` and ``KUBEBILL_CLUSTER_TAGS=cluster`` hands to ``payments`` of the
provider's first cluster and to ``analytics`` wherever it runs.

So Σ truth per provider, day and cost column equals Σ of that provider's bill lines starting that day, and
per cluster equals Σ of the lines touching that cluster.
"""

from kubebill.devtools.simulate.model import Scenario, cluster_names
from kubebill.devtools.simulate.native import Written
from kubebill.devtools.simulate.opencost import compute_response, serve_opencost
from kubebill.devtools.simulate.run import GROUND_TRUTH_KEY, simulate

__all__ = [
    "GROUND_TRUTH_KEY",
    "Scenario",
    "Written",
    "cluster_names",
    "compute_response",
    "serve_opencost",
    "simulate",
]
