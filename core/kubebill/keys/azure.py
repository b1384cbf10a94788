"""Azure's keys (DESIGN 4): lower-cased resource ids; VMSS instances, AKS clusters, load balancers, public IPs.

A VMSS instance is
``/subscriptions/<s>/resourcegroups/<rg>/providers/microsoft.compute/virtualmachinescalesets/<vmss>/virtualmachines/<n>``
on both sides (the bill's VMSS line + ``AdditionalInfo.VMName`` ``<vmss>_<n>`` is rebuilt into it). The node
resource group ``MC_<rg>_<cluster>_<region>`` names the cluster.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kubebill.keys.text import clean, parse_json_object

_VMSS = re.compile(
    r"^(?P<base>/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.compute/virtualmachinescalesets/"
    r"(?P<vmss>[^/]+))$"
)
RESOURCE_GROUP = re.compile(r"/resourcegroups/(?P<rg>[^/]+)")
_AKS_NODE_RG = re.compile(r"^mc_(?P<rest>.+)_(?P<region>[a-z0-9]+)$")

CLUSTER_TAGS = ("aks-managed-cluster-name",)

# --- SQL fragments over lower-cased keys ({0}) ---
# A VMSS instance key → its VMSS key (Defender lines carry the instance; the AKS agent splits the VMSS).
# The regex is guarded by a plain substring test it implies: most keys fail that test, which costs far less.
VMSS_PARENT = (
    r"CASE WHEN strpos({0}, '/virtualmachines/') > 0 THEN"
    r" NULLIF(regexp_extract({0}, '^(.*/virtualmachinescalesets/[^/]+)/virtualmachines/[^/]+$', 1), '') END"
)
# The AKS control-plane line is billed on the managed cluster itself, outside the node resource group.
AKS_CLUSTER = (
    r"CASE WHEN strpos({0}, '/microsoft.containerservice/managedclusters/') > 0 THEN"
    r" NULLIF(regexp_extract({0}, '/microsoft\.containerservice/managedclusters/([^/]+)$', 1), '') END"
)
# The cost component of an AKS agent split row by the Azure resource type of its key.
AKS_COMPONENT = """CASE WHEN {0} LIKE '%/microsoft.compute/disks/%' THEN 'pv'
       WHEN {0} LIKE '%/microsoft.network/loadbalancers/%' THEN 'load_balancer'
       WHEN {0} LIKE '%/microsoft.network/%' THEN 'network'
       ELSE 'compute' END"""
# An internal Service's ingress IP (RFC 1918, IPv6 unique-local): its LB is the cluster's `kubernetes-internal`.
PRIVATE_IP = r"^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|f[cd][0-9a-f]{2}:)"
# The AKS cloud provider's tag on a Service's public IP (value ``<namespace>/<name>``, comma-separated when
# Services share the IP); Azure exports spell Tags with or without outer braces and keys in any case.
SERVICE_TAG = r'''"k8s-azure-service"\s*:\s*"([^"]*)"'''
LOAD_BALANCER = r"/microsoft\.network/loadbalancers/[^/]+$"


# Microsoft's FOCUS exports give the billing account as its ARM id, its cost-details (Actual, Amortized) exports as the
# bare id: `/providers/Microsoft.Billing/billingAccounts/8611537` and `8611537` in the real samples.
_BILLING_ACCOUNT = re.compile(r"^/providers/microsoft\.billing/billingaccounts/", re.IGNORECASE)


def billing_account(text: str) -> str:
    """An Azure billing account id without its ARM prefix (any other text as it is)."""
    return _BILLING_ACCOUNT.sub("", text)


# The subscription, likewise: `/subscriptions/ed570627-…` in FOCUS, the bare GUID in cost details (EA, MCA, PAYG).
_SUBSCRIPTION = re.compile(r"^/?subscriptions/", re.IGNORECASE)


def sub_account(text: str) -> str:
    """An Azure subscription id without its ARM prefix (any other text as it is)."""
    return _SUBSCRIPTION.sub("", text).rstrip("/")


def owns_provider_id(low: str) -> bool:
    return low.startswith("azure://") or low.startswith("/subscriptions/")


def provider_id_key(low: str) -> str | None:
    """A lower-cased ``azure:///subscriptions/…`` or resource id → the resource id."""
    if low.startswith("azure://"):
        return low[len("azure://") :].rstrip("/") or None
    return low.rstrip("/")


@lru_cache(maxsize=1 << 16)
def azure_resource_key(resource_id: str | None, vm_name: str | None = None) -> str | None:
    """Azure ``ResourceId``/``InstanceId`` → key; a VMSS id plus ``VMName`` ``<vmss>_<n>`` → that VMSS instance."""
    text = clean(resource_id)
    if text is None:
        return None
    low = text.lower().rstrip("/")
    if not low.startswith("/"):
        low = "/" + low if low.startswith("subscriptions/") else low
    name = clean(vm_name)
    match = _VMSS.match(low)
    if match and name:
        vmss = match["vmss"]
        instance = name.lower()
        if instance.startswith(vmss + "_") and instance[len(vmss) + 1 :].isdigit():
            return f"{match['base']}/virtualmachines/{instance[len(vmss) + 1 :]}"
    return low


def azure_vm_name(additional_info: object) -> str | None:
    """``AdditionalInfo.VMName`` from a dict or the JSON text (with or without outer braces)."""
    info = parse_json_object(additional_info)
    for key, value in info.items():
        if key.lower() == "vmname":
            return clean(value)
    return None


@lru_cache(maxsize=1 << 16)
def aks_cluster_from_resource_group(resource_group: str) -> str | None:
    """``MC_<rg>_<cluster>_<region>`` → ``<cluster>`` (lower-cased); None for any other group."""
    match = _AKS_NODE_RG.match(resource_group.strip().lower())
    if match is None:
        return None
    rest = match["rest"]
    if "_" not in rest:
        return None
    return rest.split("_", 1)[1] or None
