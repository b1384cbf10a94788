"""Google Cloud's keys (DESIGN 4): the bare resource name (instance or disk name).

Project and zone are left out because the bill's ``resource.name`` is the bare name and ``resource.global_name``
carries the numeric id for instances; GKE node and PD names embed the cluster and a random suffix, and the merge
scopes by cluster anyway.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kubebill.keys.text import clean

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
