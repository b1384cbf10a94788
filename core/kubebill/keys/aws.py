"""AWS's keys (DESIGN 4): instance ``i-…`` and EBS volume ``vol-…`` ids from ``aws:///zone/i-…``, bare ids, ARNs
and CSI handles (any other ARN or id lower-cased whole); load balancers by name; the EKS cluster tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from kubebill.keys.text import clean

_AWS_ID = re.compile(r"^(i|vol|eni|nat|eipalloc|snap)-[0-9a-z]+$")

CLUSTER_TAGS = ("aws:eks:cluster-name", "eks:cluster-name", "alpha.eksctl.io/cluster-name")
CLUSTER_TAG_PREFIXES = ("kubernetes.io/cluster/",)

# SQL over a lower-cased bill key: an ELB's ARN (…:loadbalancer/net/<name>/<id>) → the load balancer's name.
ELB_ARN = (
    r"CASE WHEN starts_with({0}, 'arn:aws:elasticloadbalancing:') THEN"
    r" NULLIF(regexp_extract({0}, '^arn:aws:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/(?:net/|app/)?([^/]+)', 1),"
    " '') END"
)
# An ELB's DNS name on the Service (<name>-<hash>.elb.…) → the same name.
_ELB_HOST = re.compile(r"^(?P<name>[a-z0-9-]+)-[0-9a-f]+\.(?:[a-z0-9-]+\.)?elb\.(?:[a-z0-9-]+\.)?amazonaws\.com$")


def owns_provider_id(low: str) -> bool:
    return low.startswith("aws://") or low.startswith("arn:aws")


def tail(low: str) -> str:
    """The i-/vol- id at the end of an aws:// provider id or ARN; the whole text otherwise."""
    last = re.split(r"[/:]", low.rstrip("/"))[-1]
    return last if _AWS_ID.match(last) else low


def elb_name(key: str) -> str | None:
    """The load balancer's name when `key` (a cluster-side key) is an ELB's DNS name."""
    found = _ELB_HOST.match(key)
    return found["name"] if found else None


@lru_cache(maxsize=1 << 16)
def aws_resource_key(resource_id: str | None) -> str | None:
    """CUR ``lineItem/ResourceId`` / ``line_item_resource_id`` → key (instance/volume id, else lower-cased id)."""
    text = clean(resource_id)
    if text is None:
        return None
    return tail(text.lower())


# AWS split cost allocation data for EKS (SCAD): a pod's row in the CUR names its pod by ARN and its place by tags.
SPLIT_TAGS = {
    "cluster": "aws:eks:cluster-name",
    "namespace": "aws:eks:namespace",
    "node": "aws:eks:node",
    "controller": "aws:eks:workload-name",
    "controller_kind": "aws:eks:workload-type",
}
_POD_ARN = re.compile(r"^arn:aws:eks:[^:]*:[^:]*:pod/(?P<cluster>[^/]+)/(?P<namespace>[^/]+)/(?P<pod>[^/]+)")


def _flat_tag(key: str) -> str:
    """A tag key as legacy CUR (``resourceTags/aws:eks:node``) and CUR 2.0 (``aws_eks_node``) both reduce to."""
    low = key.strip().lower().removeprefix("resourcetags/").removeprefix("resource_tags_")
    return re.sub(r"[^a-z0-9]", "", low)


_FLAT_SPLIT_TAGS = {_flat_tag(tag): name for name, tag in SPLIT_TAGS.items()}


def split_row_target(resource_id: str | None, tags: Mapping[str, object]) -> dict[str, str | None]:
    """A SCAD row's pod: cluster, namespace, node, controller (kind) from its tags, the pod from its ARN
    (``arn:aws:eks:<region>:<account>:pod/<cluster>/<namespace>/<pod>/<uid>``), which also fills a missing tag."""
    out: dict[str, str | None] = dict.fromkeys(SPLIT_TAGS)
    for key, value in tags.items():
        name = _FLAT_SPLIT_TAGS.get(_flat_tag(key))
        if name is not None:
            out[name] = clean(value)
    found = _POD_ARN.match(clean(resource_id) or "")
    out["pod"] = found["pod"] if found else None
    if found:
        out["cluster"] = out["cluster"] or found["cluster"]
        out["namespace"] = out["namespace"] or found["namespace"]
    return out
