"""Deterministic synthetic clusters on AWS, Azure and Google Cloud, with native bills and their ground truth.

`simulate(out, Scenario(...))` writes into the store folder `out`:

- ``allocations/cluster=<c>/year=/month=/day=/opencost.parquet`` — hourly OpenCost allocations in the
  ALLOCATION schema (one row per running container per hour, one ``__idle__`` row per node per hour),
  every cost at list price; `serve_opencost` answers ``/allocation/compute`` with the same numbers.
- ``billing/aws/…`` CUR 2.0 parquet + manifest, ``billing/azure/…`` Actual and Amortized EA CSV exports +
  ``manifest.json``, ``billing/gcp/…`` detailed-export parquet (see each module for the cost columns).
- ``ground_truth.parquet`` — the true cost per (provider, cluster, namespace, pod, day, allocation) under
  BilledCost, EffectiveCost, ListCost and ContractedCost, computed from the generative model, never from
  the files.

Truth definition (what a perfect merge reproduces):

- Node lines (compute hours of any pricing — on-demand, spot, RI/reservation/CUD-covered, Savings Plan
  covered and its negation — and per-instance lines such as Defender) of a node-slice (an hour for hourly
  lines; a daily line is spread evenly over its hours, the node's list price being constant) are shared
  among the containers running on the node by their list-cost weight (cpu + ram + gpu list cost ÷ the node's
  list cost for the slice); the rest goes to ``__idle__`` (allocation ``idle``).
- PV disk lines go to the pod mounting the PV (it runs the whole time), an unmounted PV's to
  ``__unmounted__`` (``unmounted``); the load balancer's lines to its Service's pods in equal parts (they run
  the whole time, so this is their LB cost share).
- Cluster-scoped lines (control-plane fee, node OS/boot disks, NAT gateway, the AKS cluster load balancer and
  outbound IP) go to ``__shared__`` (``shared``).
- Lines outside every cluster (databases, object storage, commitment fees and purchases, tax, credits,
  support) are ``not_kubernetes`` with null cluster/namespace/pod, on the UTC day their charge period starts.

So Σ truth per provider, day and cost column equals Σ of that provider's bill lines starting that day.
"""

from kubebill.simulate.model import Scenario, cluster_names
from kubebill.simulate.native import Written
from kubebill.simulate.opencost import compute_response, serve_opencost
from kubebill.simulate.run import GROUND_TRUTH_KEY, simulate

__all__ = [
    "GROUND_TRUTH_KEY",
    "Scenario",
    "Written",
    "cluster_names",
    "compute_response",
    "serve_opencost",
    "simulate",
]
