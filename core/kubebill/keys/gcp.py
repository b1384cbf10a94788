"""Google Cloud's keys (DESIGN 4): the bare resource name (instance or disk name).

Project and zone are left out because the bill's ``resource.name`` is the bare name and ``resource.global_name``
carries the numeric id for instances; GKE node and PD names embed the cluster and a random suffix, and the merge
scopes by cluster anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache

from kubebill.keys.text import clean
from kubebill.model import IDLE

_GCP_PATH = re.compile(r"(?:^|/)(?:instances|disks|forwardingrules|addresses|targetpools)/(?P<name>[^/]+)$")

CLUSTER_TAGS = ("goog-k8s-cluster-name",)

# SQL over a bill line's lower-cased ResourceId matched to a compute key: a GCE boot disk is named like its
# instance, but it is the node's OS disk (shared by the cluster), not the node.
BOOT_DISK = "{0} LIKE '%/disks/%'"


def provider_id_key(low: str) -> str | None:
    """A lower-cased ``gce://project/zone/name`` or resource path → the name; None when it is neither."""
    if low.startswith("gce://"):
        return low.rstrip("/").rsplit("/", 1)[-1] or None
    gcp = _GCP_PATH.search(low)
    if gcp and (low.startswith("projects/") or low.startswith("//")):
        return gcp["name"]
    return None


@lru_cache(maxsize=1 << 16)
def gcp_resource_key(name: str | None, global_name: str | None = None) -> str | None:
    """Google ``resource.name`` (else the last segment of ``resource.global_name``) → key."""
    text = clean(name)
    if text is not None:
        low = text.lower()
        gcp = _GCP_PATH.search(low)
        return gcp["name"] if gcp else low
    full = clean(global_name)
    if full is None:
        return None
    low = full.lower().rstrip("/")
    gcp = _GCP_PATH.search(low)
    return gcp["name"] if gcp else low


# GKE cost allocation (DESIGN 4, allocation sources): the labels Google writes on a cluster's compute lines, each
# line then being one namespace's share of its VM; the namespace values for capacity no Pod requested and for the
# node's system overhead (Google's documentation, "View detailed breakdown of cluster costs").
NAMESPACE_LABEL = "k8s-namespace"
LABEL_PREFIX = "k8s-label/"
UNALLOCATED_NAMESPACE = "kube:unallocated"
SYSTEM_OVERHEAD_NAMESPACE = "kube:system-overhead"
# SQL over a GKE line's `x_CloudSplit`: the split key of its (cluster, VM, namespace), one target each (the
# overhead's namespace is null, so its key ends in '/').
GKE_SPLIT_KEY = "('gke:' || lower({0}.cluster) || '/' || coalesce({0}.node, '') || '/' || coalesce({0}.namespace, ''))"


def gke_split(tags: Mapping[str, object], node: str | None) -> dict[str, str | None] | None:
    """A Google line's GKE cost allocation: cluster, node (the line's VM), namespace (GKE's unallocated value as
    `__idle__`, its system overhead as none, as AKS's system split) and the `k8s-label/<key>` labels as JSON; None
    when the line carries no namespace label or no cluster label (a namespace label alone is not GKE's)."""
    namespace = clean(tags.get(NAMESPACE_LABEL))
    cluster = clean(tags.get(CLUSTER_TAGS[0]))
    if namespace is None or cluster is None:
        return None
    labels = {k[len(LABEL_PREFIX) :]: v for k, v in sorted(tags.items()) if k.startswith(LABEL_PREFIX)}
    return {
        "cluster": cluster,
        "node": node,
        "namespace": {UNALLOCATED_NAMESPACE: IDLE, SYSTEM_OVERHEAD_NAMESPACE: None}.get(namespace, namespace),
        "pod": None,
        "labels": json.dumps(labels, separators=(",", ":"), sort_keys=True) if labels else None,
        "controller_kind": None,
        "controller": None,
    }
