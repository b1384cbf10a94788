"""The AKS cost-analysis agent: `GET {url}/resources/v1?from=…&to=…&source=opencost` for one UTC day.

The answer is already a split table: per Azure resource (`ID`, the VMSS / disk / load balancer / public
IP id) its `Splits`, each a `Fraction` of that resource's cost with a `SplitBucket` (usage, idle, system)
and a `SplitKey` (namespace, object_kind, object_name, label_app). One ALLOCATION row per (resource,
split): provider_id = the resource id as given, fraction at full double precision, idle splits keep
`__idle__` in namespace/pod; system splits leave them null (split_bucket says `system`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import requests

from kubebill.errors import SourceError
from kubebill.model import IDLE, Window
from kubebill.sources import http
from kubebill.sources.jsonstream import JsonStream
from kubebill.sources.normalize import constant, floats, labels_json, micros, table, timestamps

SOURCE = "aks"
BUCKETS = frozenset({"usage", "idle", "system"})


def endpoint(base_url: str) -> str:
    return base_url.rstrip("/") + "/resources/v1"


def params(day: date) -> dict[str, str]:
    window = Window.of_day(day).to_opencost().split(",")
    return {"from": window[0], "to": window[1], "source": "opencost"}


def fetch_day(
    session: requests.Session, *, base_url: str, cluster: str, day: date, options: http.HttpOptions
) -> Iterator[pa.Table]:
    """The day's ALLOCATION table (one request)."""
    url = endpoint(base_url)

    def parse_day(chunks: Iterator[bytes]) -> pa.Table:
        return parse(chunks, day=day, cluster=cluster, what=f"aks {url} from={params(day)['from']}")

    yield http.get(session, url, params(day), parse_day, options=options)


def parse(chunks: Iterable[bytes], *, day: date, cluster: str, what: str = SOURCE) -> pa.Table:
    """Normalize one `/resources/v1` body to ALLOCATION rows."""
    stream = JsonStream(chunks, what=what)
    rows: list[tuple[str, dict[str, Any]]] = []
    seen = False
    stream.begin_object()
    while (key := stream.next_key()) is not None:
        if key != "Resources":
            stream.value()  # Metrics: the agent's own health, not cost
            continue
        seen = True
        if stream.peek_kind() == "n":
            stream.value()
            continue
        stream.begin_array()
        while stream.next_item():
            resource = stream.value()
            rows.extend(_splits(resource, stream.what))
    stream.end()
    if not seen:
        raise SourceError(
            f"{stream.what}: no 'Resources' field; expected the cost-analysis agent's /resources/v1 answer"
        )
    if not rows:
        raise SourceError(f"{stream.what}: no resources with splits for {day} (the agent has no data for that day yet)")
    n = len(rows)
    window = Window.of_day(day)
    start = micros(window.start.isoformat(), what=what)
    end = micros(window.end.isoformat(), what=what)
    keys = [split.get("SplitKey") or {} for _, split in rows]
    buckets = [split.get("SplitBucket") for _, split in rows]
    for (resource_id, _), bucket in zip(rows, buckets, strict=True):
        if bucket not in BUCKETS:
            raise SourceError(
                f"{what}: resource {resource_id!r}: SplitBucket {bucket!r} is not one of usage, idle, system"
            )
    sentinel = [IDLE if bucket == "idle" else None for bucket in buckets]
    fractions = floats([split.get("Fraction") for _, split in rows], column="Fraction", what=what)
    if fractions.null_count:
        row = fractions.is_null().to_pylist().index(True)
        raise SourceError(f"{what}: resource {rows[row][0]!r}: a split has no numeric 'Fraction'")
    columns: dict[str, Any] = {
        "window_start": timestamps([start] * n),
        "window_end": timestamps([end] * n),
        "cluster": constant(cluster, n),
        "source": constant(SOURCE, n),
        "provider_id": [resource_id for resource_id, _ in rows],
        "namespace": [k.get("namespace") or s for k, s in zip(keys, sentinel, strict=True)],
        "controller_kind": [k.get("object_kind") or None for k in keys],
        "controller": [k.get("object_name") or None for k in keys],
        "pod": sentinel,
        "labels": [labels_json({"app": k["label_app"]}) if k.get("label_app") else None for k in keys],
        "fraction": fractions,
        "split_bucket": buckets,
    }
    return table(columns, n)


def _splits(resource: Any, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(resource, dict) or not isinstance(resource.get("ID"), str):
        raise SourceError(f"{what}: a resource has no 'ID' string")
    splits = resource.get("Splits")
    if not isinstance(splits, list):
        raise SourceError(f"{what}: resource {resource['ID']!r} has no 'Splits' list")
    for split in splits:
        if not isinstance(split, dict):
            raise SourceError(f"{what}: resource {resource['ID']!r}: a split is not an object")
        yield resource["ID"], split
