"""OpenCost `GET /allocation/compute` and Kubecost `GET /model/allocation`, one request per step of a UTC day.

The body is cut into runs of allocations as it streams in (`AllocationStream`), each run decoded in one
msgspec call into typed structs that skip unused fields, each batch of BATCH_ROWS into an Arrow batch
that is compressed into the step's spool file at once, so memory is one network chunk and one batch, not
the JSON nor the step. The steps of a day are fetched and parsed by one worker process per usable core
(`parallel`, KUBEBILL_EXPORT_WORKERS), their batches read back in step order.
Normalized to the ALLOCATION schema:
- costs include OpenCost's `*CostAdjustment` (as OpenCost's own `totalCost` does);
- labels become one canonical JSON object; `pvs` and `lbAllocations` become nested lists (Kubecost,
  which has no `lbAllocations`, names the pod's `services`: kept with null cost when it has LB cost);
- `__idle__` / `__unmounted__` / `__unallocated__` entries keep the sentinel in namespace/pod/container
  when the API leaves them unset (with `idleByNode` the idle row keeps its node and provider id);
- null, NaN, ±Inf and "NaN" numbers become nulls; `providerID` is kept as given.
Kubecost differences: the `/model` prefix (dropped when the URL already ends in /model, i.e. the
cost-model container), `idle` instead of `includeIdle`; since Kubecost 2.5.3 the `*Average` fields of an
aggregate are sums over its containers again, which is OpenCost's meaning and the one kept here (with the
default container-level aggregate the two agree; 2.3–2.5.2 averaged them: charts/kubebill/README.md).
"""

from __future__ import annotations

import gc
import json
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import requests

from kubebill import progress
from kubebill.errors import SourceError
from kubebill.model import IDLE, UNALLOCATED, UNMOUNTED, Window
from kubebill.schema import ALLOCATION
from kubebill.scratch import scratch
from kubebill.settings import Settings, parse_duration
from kubebill.sources import body, http, parallel
from kubebill.sources.allocstream import AllocationStream
from kubebill.sources.normalize import constant, floats, labels_json, micros, number, table, timestamps

BATCH_ROWS = 2048
Num = float | str | None
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

_NUMBER_FIELDS = tuple(dict.fromkeys(f for _, key, adjustment in _NUMBERS for f in (key, adjustment) if f))
_NUMBER_GETTER = operator.attrgetter(*_NUMBER_FIELDS)
_PROPERTY_GETTER = operator.attrgetter(*(key for _, key in _PROPERTIES))


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
    workers: int | None = None,
) -> Iterator[pa.RecordBatch]:
    """The ALLOCATION rows of `day`, one request per step, in time order, as batches of BATCH_ROWS rows at most.

    Steps are fetched and parsed by `workers` processes side by side (default: the usable cores).
    """
    url = endpoint(base_url, source)
    headers = dict(session.headers)
    with scratch("steps") as spool:
        steps = [
            _Step(url, params(query, window, source), window, cluster, source, options, headers, f"{spool}/{i}.arrows")
            for i, window in enumerate(Window.of_day(day).steps(query.step_delta))
        ]
        done = parallel.ordered(
            steps,
            lambda step: step.run(session),
            _run_step,
            workers=parallel.cpu_budget() if workers is None else workers,
        )
        for number, path in enumerate(done, start=1):
            progress.tick(f"{day} step {number}/{len(steps)}")
            with pa.OSFile(path) as stream:
                yield from pa.ipc.open_stream(stream)  # one batch read and decompressed at a time
            os.unlink(path)


@dataclass(frozen=True)
class _Step:
    """One request of a day: what a worker process needs to fetch and parse it, and where to put its rows."""

    url: str
    params: dict[str, str]
    window: Window
    cluster: str
    source: str
    options: http.HttpOptions
    headers: dict[str, str | bytes]
    path: str

    def run(self, session: requests.Session) -> str:
        """Fetch and parse the step into `path`; returns `path`."""
        what = f"{self.source} {http.redact(self.url)} window={self.window.to_opencost()}"

        def parse_step(chunks: http.Chunks) -> str:
            parse_stream(chunks, self.path, requested=self.window, cluster=self.cluster, source=self.source, what=what)
            return self.path

        return http.get(session, self.url, self.params, parse_step, options=self.options)


_WORKER_SESSION: list[requests.Session] = []  # one per worker process, reused across its steps


def _run_step(step: _Step) -> str:
    """In a worker process: the step's rows into its file."""
    if not _WORKER_SESSION:
        _WORKER_SESSION.append(requests.Session())
    session = _WORKER_SESSION[0]
    session.headers.update(step.headers)
    return step.run(session)


_NULL = msgspec.Raw(b"null")


class _Window(msgspec.Struct, gc=False):
    start: str
    end: str


class _Properties(msgspec.Struct, gc=False):
    node: str | None = None
    providerID: str | None = None
    namespace: str | None = None
    controllerKind: str | None = None
    controller: str | None = None
    pod: str | None = None
    container: str | None = None
    labels: msgspec.Raw = _NULL
    services: list[str] | None = None


class _PV(msgspec.Struct, gc=False):
    byteHours: Num = None
    cost: Num = None
    adjustment: Num = None
    providerID: str | None = None


class _LB(msgspec.Struct, gc=False):
    service: str | None = None
    cost: Num = None
    hours: Num = None
    ip: str | None = None
    providerID: str | None = None


class _Allocation(msgspec.Struct, gc=False):
    properties: _Properties
    window: _Window
    totalCost: Num
    minutes: Num = None
    cpuCoreHours: Num = None
    cpuCoreRequestAverage: Num = None
    cpuCoreUsageAverage: Num = None
    ramByteHours: Num = None
    ramByteRequestAverage: Num = None
    ramByteUsageAverage: Num = None
    gpuHours: Num = None
    cpuCost: Num = None
    ramCost: Num = None
    gpuCost: Num = None
    pvCost: Num = None
    networkCost: Num = None
    loadBalancerCost: Num = None
    sharedCost: Num = None
    externalCost: Num = None
    cpuEfficiency: Num = None
    ramEfficiency: Num = None
    totalEfficiency: Num = None
    cpuCostAdjustment: Num = None
    ramCostAdjustment: Num = None
    gpuCostAdjustment: Num = None
    pvCostAdjustment: Num = None
    networkCostAdjustment: Num = None
    loadBalancerCostAdjustment: Num = None
    pvs: dict[str, _PV] | None = None
    lbAllocations: dict[str, _LB] | None = None


_ALLOCATION_DECODER = msgspec.json.Decoder(_Allocation)
_RUN_DECODER = msgspec.json.Decoder(dict[str, _Allocation])


class _Response(msgspec.Struct):
    code: int | None = None
    status: str | None = None
    message: str | None = None
    data: list[dict[str, _Allocation] | None] | msgspec.UnsetType | None = msgspec.UNSET


def parse(chunks: Iterable[bytes], *, requested: Window, cluster: str, source: str, what: str = "") -> pa.Table:
    """Normalize one `/allocation` response body (any number of sets) to an ALLOCATION table."""
    batches: list[pa.Table] = []
    _parse(chunks, batches.append, requested=requested, cluster=cluster, source=source, what=what or source)
    return pa.concat_tables(batches) if batches else table({}, 0)


def parse_stream(
    chunks: Iterable[bytes], path: str, *, requested: Window, cluster: str, source: str, what: str = ""
) -> None:
    """The same rows into the file `path`, an LZ4-compressed Arrow IPC stream, each batch as soon as it is built.

    A step's rows are never all in memory: that bounds a worker's memory and what waits for the writer.
    Rewritten from the start when a retry parses the body again.
    """
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, ALLOCATION, options=parallel.IPC_OPTIONS) as writer:
        _parse(chunks, writer.write_table, requested=requested, cluster=cluster, source=source, what=what or source)


def _parse(
    chunks: Iterable[bytes],
    emit: Callable[[pa.Table], object],
    *,
    requested: Window,
    cluster: str,
    source: str,
    what: str,
) -> None:
    # the cyclic GC would rescan the whole heap again and again while a step's millions of acyclic objects
    # (structs, values, column tuples) are made: without it a step parses in about half the time
    enabled = gc.isenabled()
    gc.disable()
    try:
        _parse_runs(chunks, _Builder(emit, requested=requested, cluster=cluster, source=source, what=what), what)
    finally:
        if enabled:
            gc.enable()


def _parse_runs(chunks: Iterable[bytes], builder: _Builder, what: str) -> None:
    stream = AllocationStream(chunks, what=what)
    names: list[str] = []
    allocations: list[_Allocation] = []
    for run in stream:
        try:
            decoded = _RUN_DECODER.decode(run)
            names += decoded
            allocations += decoded.values()
        except (msgspec.DecodeError, msgspec.ValidationError):  # across sets, a culprit to name, bare NaN
            pairs = stream.split(run)
            names += [name for name, _ in pairs]
            allocations += _decode([name for name, _ in pairs], [blob for _, blob in pairs], what)
        while len(names) >= BATCH_ROWS:  # batches of a fixed size: the same batches whatever the chunking
            builder.add(names[:BATCH_ROWS], allocations[:BATCH_ROWS])
            del names[:BATCH_ROWS], allocations[:BATCH_ROWS]
    if names:
        builder.add(names, allocations)
    if not stream.found:
        _parse_whole(stream.body, builder, what)
        return
    if stream.code is None:
        raise SourceError(f"{what}: no 'code' field; expected an OpenCost/Kubecost allocation response")
    if stream.code != 200:
        raise SourceError(f"{what}: expected code 200, got {stream.code}")


def _decode(names: list[str], blobs: list[bytes], what: str) -> list[_Allocation]:
    try:
        return [_ALLOCATION_DECODER.decode(blob) for blob in blobs]
    except (msgspec.DecodeError, msgspec.ValidationError):  # name the culprit, or accept bare NaN
        pairs = zip(names, blobs, strict=True)
        return [body.decode(blob, _Allocation, what=f"{what}: allocation {name!r}") for name, blob in pairs]


def _parse_whole(raw: bytearray, builder: _Builder, what: str) -> None:
    """An answer without recognisable allocations (error, empty, other layout): decode it whole."""
    try:
        response = body.decode(raw, _Response, what=what)
    except SourceError:
        _check_error_answer(raw, what)
        raise
    if response.code is None:
        raise SourceError(f"{what}: no 'code' field; expected an OpenCost/Kubecost allocation response")
    if response.code != 200:
        raise SourceError(f"{what}: expected code 200, got {response.code}: {_message(response)}")
    if response.data is msgspec.UNSET:
        raise SourceError(f"{what}: no 'data' in the answer (message: {_message(response)!r})")
    for allocation_set in response.data or []:
        names = list((allocation_set or {}).keys())
        allocations = list((allocation_set or {}).values())
        for first in range(0, len(names), BATCH_ROWS):
            builder.add(names[first : first + BATCH_ROWS], allocations[first : first + BATCH_ROWS])


class _ErrorAnswer(msgspec.Struct):
    code: int | None = None
    status: str | None = None
    message: str | None = None


def _message(answer: _Response | _ErrorAnswer) -> str:
    return " ".join(str(answer.message or answer.status or "").split())[:300]


def _check_error_answer(raw: bytearray, what: str) -> None:
    """An error answer (code != 200) may carry a `data` of another shape: report its code, not the shape."""
    try:
        answer = msgspec.json.decode(raw, type=_ErrorAnswer)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    if answer.code is not None and answer.code != 200:
        raise SourceError(f"{what}: expected code 200, got {answer.code}: {_message(answer)}")


class _Builder:
    """Turns batches of decoded allocations into ALLOCATION tables, each handed to `emit` at once."""

    def __init__(
        self, emit: Callable[[pa.Table], object], *, requested: Window, cluster: str, source: str, what: str
    ) -> None:
        self.emit = emit
        self.cluster = cluster
        self.source = source
        self.what = what
        self.lo = micros(requested.start.isoformat(), what=what)
        self.hi = micros(requested.end.isoformat(), what=what)

    def _windows(self, names: list[str], allocs: list[_Allocation]) -> tuple[pa.Array, pa.Array]:
        """window_start/window_end columns; every distinct window must lie inside the requested one."""
        starts = [a.window.start for a in allocs]
        ends = [a.window.end for a in allocs]
        bounds: dict[str, int] = {}
        for start, end in set(zip(starts, ends, strict=True)):
            row = starts.index(start)
            where = f"{self.what}: allocation {names[row]!r} window"
            lo = bounds.setdefault(start, micros(start, what=where))
            hi = bounds.setdefault(end, micros(end, what=where))
            if lo < self.lo or hi > self.hi or hi <= lo:
                raise SourceError(
                    f"{self.what}: the API answered for window {start},{end} (allocation {names[row]!r}), "
                    f"which the requested window does not cover"
                )
        return timestamps([bounds[s] for s in starts]), timestamps([bounds[e] for e in ends])

    def add(self, names: list[str], allocs: list[_Allocation]) -> None:
        n = len(allocs)
        props = [a.properties for a in allocs]
        window_start, window_end = self._windows(names, allocs)
        columns: dict[str, Any] = {
            "window_start": window_start,
            "window_end": window_end,
            "cluster": constant(self.cluster, n),
            "source": constant(self.source, n),
            "labels": _labels([p.labels for p in props]),
        }
        strings = zip(*map(_PROPERTY_GETTER, props), strict=True)
        for (column, _), values in zip(_PROPERTIES, strings, strict=True):
            columns[column] = [value or None for value in values]
        numbers = dict(zip(_NUMBER_FIELDS, zip(*map(_NUMBER_GETTER, allocs), strict=True), strict=True))
        for column, key, adjustment in _NUMBERS:
            values = floats(numbers[key], column=key, what=self.what)
            if adjustment is not None:
                adjust = numbers[adjustment]
                if any(adjust):
                    extra = floats(adjust, column=adjustment, what=self.what)
                    values = pc.add(values, pc.fill_null(extra, 0.0))
            columns[column] = values
        totals = columns["total_cost"]
        if totals.null_count:
            row = totals.is_null().to_pylist().index(True)
            raise SourceError(f"{self.what}: allocation {names[row]!r} has no numeric 'totalCost'")
        columns["pvs"] = [_pvs(a.pvs, self.what) if a.pvs else None for a in allocs]
        columns["load_balancers"] = [
            _load_balancers(a) if a.lbAllocations or a.properties.services else None for a in allocs
        ]
        _sentinels(columns, names)
        self.emit(table(columns, n))


def _labels(raws: list[msgspec.Raw]) -> pa.Array:
    """Go writes map keys sorted and compact: keep those bytes; re-encode anything else canonically."""
    binary = pa.array([bytes(raw) for raw in raws], pa.binary())
    texts = binary.cast(pa.string())  # the cast checks UTF-8
    texts = pc.if_else(pc.equal(texts, "null"), pa.scalar(None, pa.string()), texts)
    # label keys and values hold no whitespace (Kubernetes' syntax): any is formatting, not Go's compact form;
    # one byte search over the column's data finds it (an Arrow string search per row costs ten times more)
    data = binary.buffers()[2]
    text = b"" if data is None else data.to_pybytes()
    if not any(space in text for space in (b" ", b"\n", b"\t", b"\r")):
        return texts
    values = texts.to_pylist()
    for row in pc.indices_nonzero(pc.match_substring_regex(texts, r"\s")).to_pylist():
        values[row] = labels_json(json.loads(values[row]))
    return pa.array(values, pa.string())


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


def _pvs(raw: dict[str, _PV], what: str) -> list[dict[str, Any]] | None:
    result = []
    for key, pv in raw.items():
        name = key
        for part in key.split(":"):  # Kubecost/OpenCost key: cluster=<c>:name=<pv>
            if part.startswith("name="):
                name = part[len("name=") :]
        try:
            cost = number(pv.cost)
            adjustment = number(pv.adjustment)
            byte_hours = number(pv.byteHours)
        except ValueError as exc:
            raise SourceError(f"{what}: pv {key!r}: {exc}") from None
        if cost is not None and adjustment:
            cost += adjustment
        result.append({"name": name, "provider_id": pv.providerID or None, "byte_hours": byte_hours, "cost": cost})
    return result or None


def _load_balancers(allocation: _Allocation) -> list[dict[str, Any]] | None:
    if allocation.lbAllocations:
        return [
            {
                "service": lb.service or key,
                "provider_id": lb.ip or lb.providerID or None,
                "hours": _maybe(lb.hours),
                "cost": _maybe(lb.cost),
            }
            for key, lb in allocation.lbAllocations.items()
        ]
    props = allocation.properties
    if props.services and (_maybe(allocation.loadBalancerCost) or 0) > 0:
        namespace = props.namespace or ""
        return [
            {"service": f"{namespace}/{s}", "provider_id": None, "hours": None, "cost": None} for s in props.services
        ]
    return None


def _maybe(value: Any) -> float | None:
    try:
        return number(value)
    except ValueError:
        return None
