"""The keys both sides of the merge compare (DESIGN 4): cluster-side provider ids and bill-side resource ids.

Each cloud's knowledge lives in its own module (`aws`, `azure`, `gcp`): its Python normalisers and the SQL
fragments the reconcile stages use. Everything returns lower-cased text, so one string comparison decides a match.
Cluster hints (`cluster_hint`) are lower-cased too; compare them with a lower-cased cluster name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from kubebill.keys import aws, azure, gcp
from kubebill.keys.aws import aws_resource_key
from kubebill.keys.azure import aks_cluster_from_resource_group, azure_resource_key, azure_vm_name
from kubebill.keys.gcp import gcp_resource_key
from kubebill.keys.text import clean, parse_json_object

__all__ = [
    "aks_cluster_from_resource_group",
    "aws_resource_key",
    "azure_resource_key",
    "azure_vm_name",
    "billing_account_key",
    "cluster_hint",
    "gcp_resource_key",
    "match_key",
    "parse_json_object",
    "provider_id_key",
    "sub_account_key",
]


@lru_cache(maxsize=1 << 12)
def billing_account_key(text: str) -> str:
    """A line's BillingAccountId as one export states it and every other export of the account does: lower-cased,
    trimmed, each cloud's spelling of it made one (Azure's FOCUS ARM id and its cost-details bare id)."""
    return azure.billing_account(text.strip()).lower()


@lru_cache(maxsize=1 << 12)
def sub_account_key(text: str) -> str:
    """A line's SubAccountId (AWS usage account, Azure subscription, Google project) as every export of it states
    it: lower-cased, trimmed, Azure's FOCUS ARM id and its cost-details bare GUID made one."""
    return azure.sub_account(text.strip()).lower()


@lru_cache(maxsize=1 << 16)
def provider_id_key(provider_id: str | None) -> str | None:
    """Cluster-side node providerID / PV volume handle → the key the bill side produces (None when empty)."""
    text = clean(provider_id)
    if text is None:
        return None
    low = text.lower()
    if azure.owns_provider_id(low):
        return azure.provider_id_key(low)
    if aws.owns_provider_id(low):
        return aws.tail(low)
    found = gcp.provider_id_key(low)
    return found if found is not None or low.startswith("gce://") else low


def match_key(provider_id: str) -> str | None:
    """The key a cluster-side id is billed under (an ELB's DNS name → the load balancer's name)."""
    key = provider_id_key(provider_id)
    return (aws.elb_name(key) or key) if key else None


_CLUSTER_TAGS = (*aws.CLUSTER_TAGS, *gcp.CLUSTER_TAGS, *azure.CLUSTER_TAGS)
# the same tag keys as CUR 2.0 / legacy CUR parquet spell them (``user_eks_cluster_name``): letters and digits only
_FLAT_CLUSTER_TAGS = frozenset(re.sub(r"[^a-z0-9]", "", t) for t in _CLUSTER_TAGS)


def _tag_name(key: str) -> str:
    """A tag key without the CUR decorations (``resourceTags/``, ``user:``, ``aws:`` stays)."""
    low = key.strip().lower()
    for prefix in ("resourcetags/", "resource_tags/"):
        if low.startswith(prefix):
            low = low[len(prefix) :]
    if low.startswith("user:"):
        low = low[len("user:") :]
    return low


def tag_value(found: Mapping[str, object], key: str) -> str | None:
    """The text value of label or tag `key` in a labels/tags object, under its own name or as the exports spell it:
    non-alphanumerics as `_` (OpenCost labels, CUR 2.0 tags), CUR 2.0's `user_` and legacy CUR's `user:` prefixes.
    Exact and case-sensitive, as the clouds' tag keys are."""
    flat = re.sub(r"[^A-Za-z0-9]", "_", key)
    for name in (key, flat, f"user:{key}", f"user_{flat}"):
        value = found.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def cluster_hint(
    tags: Mapping[str, object] | None = None,
    *,
    resource_group: str | None = None,
    resource_id: str | None = None,
) -> str | None:
    """The cluster a bill line names (lower-cased), from its tags/labels or its AKS node resource group.

    Tags: ``aws:eks:cluster-name``, ``eks:cluster-name``, ``kubernetes.io/cluster/<name>``,
    ``goog-k8s-cluster-name``, ``aks-managed-cluster-name``. Azure: a resource group ``MC_<rg>_<cluster>_<region>``
    (from `resource_group` or the resource id); when `<rg>` itself contains ``_`` the split is at the first one.
    """
    for key, value in (tags or {}).items():
        name = _tag_name(key)
        flat = re.sub(r"[^a-z0-9]", "", name)
        if name in _CLUSTER_TAGS or flat.removeprefix("user") in _FLAT_CLUSTER_TAGS:
            hint = clean(value)
            if hint:
                return hint.lower()
        for prefix in aws.CLUSTER_TAG_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :]
    group = clean(resource_group)
    if group is None and resource_id:
        found = azure.RESOURCE_GROUP.search(resource_id.lower())
        group = found["rg"] if found else None
    if group is not None:
        return aks_cluster_from_resource_group(group)
    return None
