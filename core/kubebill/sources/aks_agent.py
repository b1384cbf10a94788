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

import msgspec
import pyarrow as pa
import requests

from kubebill.errors import SourceError
from kubebill.model import IDLE, Window
from kubebill.sources import body, http
from kubebill.sources.normalize import constant, floats, labels_json, micros, table, timestamps

SOURCE = "aks"
BUCKETS = frozenset({"usage", "idle", "system"})


def endpoint(base_url: str) -> str:
    return base_url.rstrip("/") + "/resources/v1"


def params(day: date) -> dict[str, str]:
    window = Window.of_day(day).to_opencost().split(",")
    return {"from": window[0], "to": window[1], "source": "opencost"}


def fetch_day(
    session: requests.Session, *, base_url: str, cluster: str, day: date, options: http.HttpOptions, **_: object
) -> Iterator[pa.RecordBatch]:
    """The day's ALLOCATION rows (one request); the OpenCost query options do not apply."""
    url = endpoint(base_url)

    def parse_day(chunks: http.Chunks) -> pa.Table:
        return parse(chunks, day=day, cluster=cluster, what=f"aks {http.redact(url)} from={params(day)['from']}")

    yield from http.get(session, url, params(day), parse_day, options=options).to_batches()


class _Split(msgspec.Struct):
    Fraction: float | str | None = None
    SplitBucket: str | None = None
    SplitKey: dict[str, str] | None = None


class _Resource(msgspec.Struct):
    ID: str
    Splits: list[_Split]
    Name: str | None = None
    Kind: str | None = None


class _Answer(msgspec.Struct):
    Resources: list[_Resource] | None = None


def parse(chunks: Iterable[bytes], *, day: date, cluster: str, what: str = SOURCE) -> pa.Table:
    """Normalize one `/resources/v1` body to ALLOCATION rows."""
    raw = body.read(chunks, size_hint=getattr(chunks, "size_hint", 0))
    answer = body.decode(raw, _Answer, what=what)
    if answer.Resources is None:
        raise SourceError(f"{what}: no 'Resources' field; expected the cost-analysis agent's /resources/v1 answer")
    rows = [(resource.ID, split) for resource in answer.Resources for split in resource.Splits]
    if not rows:
        raise SourceError(f"{what}: no resources with splits for {day} (the agent has no data for that day yet)")
    n = len(rows)
    window = Window.of_day(day)
    start = micros(window.start.isoformat(), what=what)
    end = micros(window.end.isoformat(), what=what)
    keys = [split.SplitKey or {} for _, split in rows]
    buckets = [split.SplitBucket for _, split in rows]
    for (resource_id, _), bucket in zip(rows, buckets, strict=True):
        if bucket not in BUCKETS:
            raise SourceError(
                f"{what}: resource {resource_id!r}: SplitBucket {bucket!r} is not one of usage, idle, system"
            )
    sentinel = [IDLE if bucket == "idle" else None for bucket in buckets]
    fractions = floats([split.Fraction for _, split in rows], column="Fraction", what=what)
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
