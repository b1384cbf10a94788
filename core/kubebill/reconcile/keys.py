"""The keys both sides of the merge compare (DESIGN 4): cluster-side provider ids and bill-side resource ids.

Everything here returns lower-cased text, so one string comparison decides a match:

- AWS: instance ``i-…`` and EBS volume ``vol-…`` ids (from ``aws:///zone/i-…``, bare ids, ARNs, CSI handles);
  any other ARN or id lower-cased whole.
- Azure: lower-cased resource ids; a VMSS instance is
  ``/subscriptions/<s>/resourcegroups/<rg>/providers/microsoft.compute/virtualmachinescalesets/<vmss>/virtualmachines/<n>``
  on both sides (the bill's VMSS line + ``AdditionalInfo.VMName`` ``<vmss>_<n>`` is rebuilt into it).
- Google Cloud: the bare resource name (instance or disk name). Project and zone are left out because the bill's
  ``resource.name`` is the bare name and ``resource.global_name`` carries the numeric id for instances; GKE node
  and PD names embed the cluster and a random suffix, and the merge scopes by cluster anyway.

Cluster hints (``cluster_hint``) are lower-cased too; compare them with a lower-cased cluster name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache

_AWS_ID = re.compile(r"^(i|vol|eni|nat|eipalloc|snap)-[0-9a-z]+$")
_VMSS = re.compile(
    r"^(?P<base>/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.compute/virtualmachinescalesets/"
    r"(?P<vmss>[^/]+))$"
)
_RESOURCE_GROUP = re.compile(r"/resourcegroups/(?P<rg>[^/]+)")
_AKS_NODE_RG = re.compile(r"^mc_(?P<rest>.+)_(?P<region>[a-z0-9]+)$")
_GCP_PATH = re.compile(r"(?:^|/)(?:instances|disks|forwardingrules|addresses|targetpools)/(?P<name>[^/]+)$")


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("null", "none", "nan"):
        return None
    return text


@lru_cache(maxsize=1 << 16)
def provider_id_key(provider_id: str | None) -> str | None:
    """Cluster-side node providerID / PV volume handle → the key the bill side produces (None when empty)."""
    text = _clean(provider_id)
    if text is None:
        return None
    low = text.lower()
    if low.startswith("azure://"):
        return low[len("azure://") :].rstrip("/") or None
    if low.startswith("/subscriptions/"):
        return low.rstrip("/")
    if low.startswith("gce://"):
        return low.rstrip("/").rsplit("/", 1)[-1] or None
    if low.startswith("aws://") or low.startswith("arn:aws"):
        return _aws_tail(low)
    gcp = _GCP_PATH.search(low)
    if gcp and (low.startswith("projects/") or low.startswith("//")):
        return gcp["name"]
    return low


def _aws_tail(low: str) -> str:
    """The i-/vol- id at the end of an aws:// provider id or ARN; the whole text otherwise."""
    last = re.split(r"[/:]", low.rstrip("/"))[-1]
    return last if _AWS_ID.match(last) else low


@lru_cache(maxsize=1 << 16)
def aws_resource_key(resource_id: str | None) -> str | None:
    """CUR ``lineItem/ResourceId`` / ``line_item_resource_id`` → key (instance/volume id, else lower-cased id)."""
    text = _clean(resource_id)
    if text is None:
        return None
    return _aws_tail(text.lower())


@lru_cache(maxsize=1 << 16)
def azure_resource_key(resource_id: str | None, vm_name: str | None = None) -> str | None:
    """Azure ``ResourceId``/``InstanceId`` → key; a VMSS id plus ``VMName`` ``<vmss>_<n>`` → that VMSS instance."""
    text = _clean(resource_id)
    if text is None:
        return None
    low = text.lower().rstrip("/")
    if not low.startswith("/"):
        low = "/" + low if low.startswith("subscriptions/") else low
    name = _clean(vm_name)
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
            return _clean(value)
    return None


@lru_cache(maxsize=1 << 16)
def gcp_resource_key(name: str | None, global_name: str | None = None) -> str | None:
    """Google ``resource.name`` (else the last segment of ``resource.global_name``) → key."""
    text = _clean(name)
    if text is not None:
        low = text.lower()
        gcp = _GCP_PATH.search(low)
        return gcp["name"] if gcp else low
    full = _clean(global_name)
    if full is None:
        return None
    low = full.lower().rstrip("/")
    gcp = _GCP_PATH.search(low)
    return gcp["name"] if gcp else low


def parse_json_object(value: object) -> dict[str, object]:
    """A JSON object from a dict, JSON text, or the Azure form without outer braces; {} when unparsable."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    text = _clean(value)
    if text is None:
        return {}
    if not text.startswith("{"):
        text = "{" + text + "}"
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return {str(k): v for k, v in parsed.items()} if isinstance(parsed, dict) else {}


_AWS_CLUSTER_TAGS = ("aws:eks:cluster-name", "eks:cluster-name", "alpha.eksctl.io/cluster-name")
_CLUSTER_PREFIXES = ("kubernetes.io/cluster/",)
_OTHER_CLUSTER_TAGS = ("goog-k8s-cluster-name", "aks-managed-cluster-name")
# the same tag keys as CUR 2.0 / legacy CUR parquet spell them (``user_eks_cluster_name``): letters and digits only
_FLAT_CLUSTER_TAGS = frozenset(re.sub(r"[^a-z0-9]", "", t) for t in (*_AWS_CLUSTER_TAGS, *_OTHER_CLUSTER_TAGS))


def _tag_name(key: str) -> str:
    """A tag key without the CUR decorations (``resourceTags/``, ``user:``, ``aws:`` stays)."""
    low = key.strip().lower()
    for prefix in ("resourcetags/", "resource_tags/"):
        if low.startswith(prefix):
            low = low[len(prefix) :]
    if low.startswith("user:"):
        low = low[len("user:") :]
    return low


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
        if name in _AWS_CLUSTER_TAGS or name in _OTHER_CLUSTER_TAGS or flat.removeprefix("user") in _FLAT_CLUSTER_TAGS:
            hint = _clean(value)
            if hint:
                return hint.lower()
        for prefix in _CLUSTER_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :]
    group = _clean(resource_group)
    if group is None and resource_id:
        found = _RESOURCE_GROUP.search(resource_id.lower())
        group = found["rg"] if found else None
    if group is not None:
        return aks_cluster_from_resource_group(group)
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
