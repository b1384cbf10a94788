"""OpenCost `GET /allocation/compute` and Kubecost `GET /model/allocation`, one request per step of a UTC day.

The body is walked as a stream (`JsonStream`): one allocation is decoded at a time and collected into
Arrow batches, so memory is a step's Arrow table, not the JSON. Normalized to the ALLOCATION schema:
- costs include OpenCost's `*CostAdjustment` (as OpenCost's own `totalCost` does);
- labels become one canonical JSON object; `pvs` and `lbAllocations` become nested lists (Kubecost,
  which has no `lbAllocations`, names the pod's `services`: kept with null cost when it has LB cost);
- `__idle__` / `__unmounted__` / `__unallocated__` entries keep the sentinel in namespace/pod/container
  when the API leaves them unset (with `idleByNode` the idle row keeps its node and provider id);
- null, NaN, ±Inf and "NaN" numbers become nulls; `providerID` is kept as given.
Kubecost differences: the `/model` prefix (dropped when the URL already ends in /model, i.e. the
cost-model container), `idle` instead of `includeIdle`; since Kubecost 2.5.3 the `*Average` fields of an
aggregate are sums over its containers again, which is OpenCost's meaning and the one kept here (with the
default container-level aggregate the two agree; 2.3–2.5.2 averaged them, see the README).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import requests

from kubebill.errors import SourceError
from kubebill.model import IDLE, UNALLOCATED, UNMOUNTED, Window
from kubebill.settings import Settings, parse_duration
from kubebill.sources import http
from kubebill.sources.jsonstream import JsonStream
from kubebill.sources.normalize import constant, floats, labels_json, micros, number, table, timestamps

BATCH_ROWS = 4096
_ROW_SENTINELS = (IDLE, UNMOUNTED, UNALLOCATED)

# ALLOCATION column <- API field, and the adjustment OpenCost adds into its totals
_NUMBERS: tuple[tuple[str, str, str | None], ...] = (
    ("minutes", "minutes", None),
    ("cpu_core_hours", "cpuCoreHours", None),
    ("cpu_core_request_average", "cpuCoreRequestAverage", None),
    ("cpu_core_usage_average", "cpuCoreUsageAverage", None),
    ("ram_byte_hours", "ramByteHours", None),
    ("ram_byte_request_average", "ramByteRequestAverage", None),
    ("ram_byte_usage_average", "ramByteUsageAverage", None),
    ("gpu_hours", "gpuHours", None),
    ("cpu_cost", "cpuCost", "cpuCostAdjustment"),
    ("ram_cost", "ramCost", "ramCostAdjustment"),
    ("gpu_cost", "gpuCost", "gpuCostAdjustment"),
    ("pv_cost", "pvCost", "pvCostAdjustment"),
    ("network_cost", "networkCost", "networkCostAdjustment"),
    ("load_balancer_cost", "loadBalancerCost", "loadBalancerCostAdjustment"),
    ("shared_cost", "sharedCost", None),
    ("external_cost", "externalCost", None),
    ("total_cost", "totalCost", None),
    ("cpu_efficiency", "cpuEfficiency", None),
    ("ram_efficiency", "ramEfficiency", None),
    ("total_efficiency", "totalEfficiency", None),
)
_PROPERTIES = (
    ("node", "node"),
    ("provider_id", "providerID"),
    ("namespace", "namespace"),
    ("controller_kind", "controllerKind"),
    ("controller", "controller"),
    ("pod", "pod"),
    ("container", "container"),
)


@dataclass(frozen=True)
class Query:
    """The allocation query options a user has today (flags / KUBEBILL_* variables)."""

    step: str = "1h"
    aggregate: str = "cluster,node,namespace,controllerKind,controller,pod,container"
    include_idle: bool = True
    idle_by_node: bool = True
    share_idle: bool = False
    resolution: str | None = None
    accumulate: str | None = None
    filter: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> Query:
        return cls(
            s.step, s.aggregate, s.include_idle, s.idle_by_node, s.share_idle, s.resolution, s.accumulate, s.filter
        )

    @property
    def step_delta(self) -> timedelta:
        return parse_duration(self.step)


def endpoint(base_url: str, source: str) -> str:
    base = base_url.rstrip("/")
    if source == "kubecost":
        return base + ("/allocation" if base.endswith("/model") else "/model/allocation")
    return base + "/allocation/compute"


def params(query: Query, window: Window, source: str) -> dict[str, str]:
    """Query string of one request (one step window)."""
    flag = {True: "true", False: "false"}
    result = {
        "window": window.to_opencost(),
        "step": query.step,
        "aggregate": query.aggregate,
        ("idle" if source == "kubecost" else "includeIdle"): flag[query.include_idle],
        "idleByNode": flag[query.idle_by_node],
        "shareIdle": flag[query.share_idle],
    }
    for name, value in (("resolution", query.resolution), ("accumulate", query.accumulate), ("filter", query.filter)):
        if value:
            result[name] = value
    return result


def fetch_day(
    session: requests.Session,
    *,
    source: str,
    base_url: str,
    cluster: str,
    day: date,
    query: Query,
    options: http.HttpOptions,
) -> Iterator[pa.Table]:
    """One ALLOCATION table per step of `day` (a request each), in time order."""
    url = endpoint(base_url, source)
    for window in Window.of_day(day).steps(query.step_delta):

        def parse_step(chunks: Iterator[bytes], window: Window = window) -> pa.Table:
            what = f"{source} {url} window={window.to_opencost()}"
            return parse(chunks, requested=window, cluster=cluster, source=source, what=what)

        yield http.get(session, url, params(query, window, source), parse_step, options=options)


def parse(chunks: Iterable[bytes], *, requested: Window, cluster: str, source: str, what: str = "") -> pa.Table:
    """Normalize one `/allocation` response body (any number of sets) to an ALLOCATION table."""
    stream = JsonStream(chunks, what=what or source)
    builder = _Builder(requested=requested, cluster=cluster, source=source, what=stream.what)
    header: dict[str, Any] = {}
    seen_data = False
    stream.begin_object()
    while (key := stream.next_key()) is not None:
        if key != "data":
            header[key] = stream.value()
            _check_code(header, stream.what)
            continue
        seen_data = True
        _check_code(header, stream.what)
        if stream.peek_kind() == "n":
            stream.value()
            continue
        stream.begin_array()
        while stream.next_item():
            if stream.peek_kind() != "{":
                raise stream.error(f"expected an allocation set object in 'data', found {stream.peek_kind()!r}")
            stream.begin_object()
            while (name := stream.next_key()) is not None:
                builder.add(name, stream.value())
    stream.end()
    _check_code(header, stream.what)
    if "code" not in header:
        raise SourceError(f"{stream.what}: no 'code' field; expected an OpenCost/Kubecost allocation response")
    if not seen_data:
        raise SourceError(f"{stream.what}: no 'data' field (message: {header.get('message', '')!r})")
    return builder.finish()


def _check_code(header: dict[str, Any], what: str) -> None:
    code = header.get("code")
    if code is not None and code != 200:
        message = header.get("message") or header.get("status") or ""
        raise SourceError(f"{what}: expected code 200, got {code!r}: {' '.join(str(message).split())[:300]}")


class _Builder:
    """Collects allocations into Arrow record batches of BATCH_ROWS rows."""

    def __init__(self, *, requested: Window, cluster: str, source: str, what: str) -> None:
        self.requested = requested
        self.cluster = cluster
        self.source = source
        self.what = what
        self.lo = micros(requested.start.isoformat(), what=what)
        self.hi = micros(requested.end.isoformat(), what=what)
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.tables: list[pa.Table] = []
        self.windows: dict[tuple[str, str], tuple[int, int]] = {}

    def add(self, name: str, allocation: Any) -> None:
        if not isinstance(allocation, dict) or not isinstance(allocation.get("properties"), dict):
            raise SourceError(f"{self.what}: allocation {name!r} has no 'properties' object")
        if "totalCost" not in allocation:
            raise SourceError(f"{self.what}: allocation {name!r} has no 'totalCost'")
        self.pending.append((name, allocation))
        if len(self.pending) >= BATCH_ROWS:
            self._flush()

    def finish(self) -> pa.Table:
        self._flush()
        if not self.tables:
            return table({}, 0)
        return pa.concat_tables(self.tables)

    def _window(self, name: str, allocation: dict[str, Any]) -> tuple[int, int]:
        window = allocation.get("window")
        if not isinstance(window, dict):
            raise SourceError(f"{self.what}: allocation {name!r} has no 'window' object")
        pair = (window.get("start"), window.get("end"))
        cached = self.windows.get(pair)  # type: ignore[arg-type]
        if cached is None:
            where = f"{self.what}: allocation {name!r} window"
            cached = (micros(pair[0], what=where), micros(pair[1], what=where))
            if cached[0] < self.lo or cached[1] > self.hi or cached[1] <= cached[0]:
                raise SourceError(
                    f"{self.what}: the API answered for window {pair[0]},{pair[1]} (allocation {name!r}), "
                    f"which the requested window does not cover"
                )
            self.windows[pair] = cached  # type: ignore[index]
        return cached

    def _flush(self) -> None:
        if not self.pending:
            return
        rows = self.pending
        self.pending = []
        n = len(rows)
        allocs = [a for _, a in rows]
        props = [a["properties"] for a in allocs]
        windows = [self._window(name, a) for name, a in rows]
        columns: dict[str, Any] = {
            "window_start": timestamps([w[0] for w in windows]),
            "window_end": timestamps([w[1] for w in windows]),
            "cluster": constant(self.cluster, n),
            "source": constant(self.source, n),
            "labels": [labels_json(p.get("labels")) for p in props],
        }
        for column, key in _PROPERTIES:
            columns[column] = [p.get(key) or None for p in props]
        for column, key, adjustment in _NUMBERS:
            values = floats([a.get(key) for a in allocs], column=key, what=self.what)
            if adjustment is not None:
                adjust = [a.get(adjustment) for a in allocs]
                if any(adjust):
                    extra = floats(adjust, column=adjustment, what=self.what)
                    values = pc.add(values, pc.fill_null(extra, 0.0))
            columns[column] = values
        totals = columns["total_cost"]
        if totals.null_count:
            row = totals.is_null().to_pylist().index(True)
            raise SourceError(f"{self.what}: allocation {rows[row][0]!r} has no numeric 'totalCost'")
        columns["pvs"] = [_pvs(a.get("pvs"), self.what) for a in allocs]
        columns["load_balancers"] = [_load_balancers(a, p) for a, p in zip(allocs, props, strict=True)]
        _sentinels(columns, [name for name, _ in rows])
        self.tables.append(table(columns, n))


def _sentinels(columns: dict[str, Any], names: list[str]) -> None:
    """Fill namespace/pod/container of __idle__/__unmounted__/__unallocated__ entries the API leaves unset."""
    for row, name in enumerate(names):
        if "__" not in name:
            continue
        last = name.rsplit("/", 1)[-1]
        if last in _ROW_SENTINELS:
            for column in ("namespace", "pod", "container"):
                if columns[column][row] is None:
                    columns[column][row] = last


def _pvs(raw: Any, what: str) -> list[dict[str, Any]] | None:
    if not raw or not isinstance(raw, dict):
        return None
    result = []
    for key, pv in raw.items():
        if not isinstance(pv, dict):
            continue
        name = key
        for part in str(key).split(":"):  # Kubecost/OpenCost key: cluster=<c>:name=<pv>
            if part.startswith("name="):
                name = part[len("name=") :]
        try:
            cost = number(pv.get("cost"))
            adjustment = number(pv.get("adjustment"))
            byte_hours = number(pv.get("byteHours"))
        except ValueError as exc:
            raise SourceError(f"{what}: pv {key!r}: {exc}") from None
        if cost is not None and adjustment:
            cost += adjustment
        result.append(
            {"name": name, "provider_id": pv.get("providerID") or None, "byte_hours": byte_hours, "cost": cost}
        )
    return result or None


def _load_balancers(allocation: dict[str, Any], props: dict[str, Any]) -> list[dict[str, Any]] | None:
    raw = allocation.get("lbAllocations")
    if isinstance(raw, dict) and raw:
        result = []
        for key, lb in raw.items():
            if isinstance(lb, dict):
                result.append(
                    {
                        "service": lb.get("service") or key,
                        "provider_id": lb.get("ip") or lb.get("providerID") or None,
                        "hours": _maybe(lb.get("hours")),
                        "cost": _maybe(lb.get("cost")),
                    }
                )
        return result or None
    services = props.get("services")
    if services and isinstance(services, list) and (_maybe(allocation.get("loadBalancerCost")) or 0) > 0:
        namespace = props.get("namespace") or ""
        return [{"service": f"{namespace}/{s}", "provider_id": None, "hours": None, "cost": None} for s in services]
    return None


def _maybe(value: Any) -> float | None:
    try:
        return number(value)
    except ValueError:
        return None
