"""The simulated cluster as an OpenCost API: `/allocation/compute` answers from the same model as the files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyarrow as pa

from kubebill.devtools.simulate.allocation import allocation_table, cluster_day
from kubebill.devtools.simulate.model import Cluster, Scenario, build_cluster, parse_cluster_name
from kubebill.model import IDLE, UNMOUNTED, Window

_FMT = "%Y-%m-%dT%H:%M:%SZ"
_PROPERTIES = ("cluster", "node", "namespace", "controllerKind", "controller", "pod", "container")
_AGGREGATES = {
    "cluster": "cluster",
    "node": "node",
    "namespace": "namespace",
    "controllerkind": "controllerKind",
    "controller": "controller",
    "pod": "pod",
    "container": "container",
}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(_FMT)


def _allocation(row: dict[str, Any]) -> dict[str, Any]:
    """One ALLOCATION row as an OpenCost Allocation object (container level)."""
    idle = row["namespace"] == IDLE
    props: dict[str, Any] = {"cluster": row["cluster"], "node": row["node"], "providerID": row["provider_id"]}
    if row["namespace"] == UNMOUNTED:
        props = {"cluster": row["cluster"], "namespace": UNMOUNTED, "pod": UNMOUNTED, "container": UNMOUNTED}
    elif not idle:
        props |= {
            "namespace": row["namespace"],
            "controllerKind": row["controller_kind"],
            "controller": row["controller"],
            "pod": row["pod"],
            "container": row["container"],
            "labels": json.loads(row["labels"] or "{}"),
        }
    hours = row["minutes"] / 60.0
    pvs = {
        f"cluster={row['cluster']}:name={pv['name']}": {
            "byteHours": pv["byte_hours"],
            "cost": pv["cost"],
            "providerID": pv["provider_id"],
            "adjustment": 0.0,
        }
        for pv in row["pvs"] or []
    }
    lbs = {
        lb["service"]: {
            "service": lb["service"],
            "cost": lb["cost"],
            "private": False,
            "ip": lb["provider_id"],
            "hours": lb["hours"],
        }
        for lb in row["load_balancers"] or []
    }
    name = (
        f"{row['cluster']}/{row['node']}/{IDLE}"
        if idle
        else "/".join(str(row[k] or "") for k in ("cluster", "node", "namespace", "pod", "container"))
    )
    start, end = row["window_start"], row["window_end"]
    return {
        "name": name,
        "properties": props,
        "window": {"start": _iso(start), "end": _iso(end)},
        "start": _iso(start),
        "end": _iso(start + timedelta(minutes=row["minutes"])),
        "minutes": row["minutes"],
        "cpuCores": row["cpu_core_hours"] / hours if hours else 0.0,
        "cpuCoreRequestAverage": row["cpu_core_request_average"],
        "cpuCoreUsageAverage": row["cpu_core_usage_average"],
        "cpuCoreHours": row["cpu_core_hours"],
        "cpuCost": row["cpu_cost"],
        "cpuCostAdjustment": 0.0,
        "cpuEfficiency": row["cpu_efficiency"],
        "gpuCount": 0.0,
        "gpuHours": row["gpu_hours"],
        "gpuCost": row["gpu_cost"],
        "gpuCostAdjustment": 0.0,
        "networkTransferBytes": 0.0,
        "networkReceiveBytes": 0.0,
        "networkCost": row["network_cost"],
        "networkCrossZoneCost": 0.0,
        "networkCrossRegionCost": 0.0,
        "networkInternetCost": 0.0,
        "networkCostAdjustment": 0.0,
        "loadBalancerCost": row["load_balancer_cost"],
        "loadBalancerCostAdjustment": 0.0,
        "pvBytes": sum(p["byteHours"] for p in pvs.values()) / hours if hours and pvs else 0.0,
        "pvByteHours": sum(p["byteHours"] for p in pvs.values()),
        "pvCost": row["pv_cost"],
        "pvs": pvs or None,
        "pvCostAdjustment": 0.0,
        "ramBytes": row["ram_byte_hours"] / hours if hours else 0.0,
        "ramByteRequestAverage": row["ram_byte_request_average"],
        "ramByteUsageAverage": row["ram_byte_usage_average"],
        "ramByteHours": row["ram_byte_hours"],
        "ramCost": row["ram_cost"],
        "ramCostAdjustment": 0.0,
        "ramEfficiency": row["ram_efficiency"],
        "externalCost": row["external_cost"],
        "sharedCost": row["shared_cost"],
        "totalCost": row["total_cost"],
        "totalEfficiency": row["total_efficiency"],
        "rawAllocationOnly": None,
        "lbAllocations": lbs or None,
    }


_SUMMED = (
    "minutes",
    "cpuCoreHours",
    "cpuCost",
    "gpuHours",
    "gpuCost",
    "networkCost",
    "loadBalancerCost",
    "pvByteHours",
    "pvCost",
    "ramByteHours",
    "ramCost",
    "externalCost",
    "sharedCost",
    "totalCost",
)


def _merge(name: str, items: list[dict[str, Any]], window: Window) -> dict[str, Any]:
    """Sum allocations into one, as OpenCost's aggregation does; properties kept where all items agree."""
    if len(items) == 1 and items[0]["name"] == name and items[0]["window"]["start"] == _iso(window.start):
        return items[0]
    out: dict[str, Any] = {"name": name}
    props = dict(items[0]["properties"])
    for item in items[1:]:
        for key in list(props):
            if item["properties"].get(key) != props[key]:
                del props[key]
    out["properties"] = props
    out["window"] = {"start": _iso(window.start), "end": _iso(window.end)}
    out["start"] = min(i["start"] for i in items)
    out["end"] = max(i["end"] for i in items)
    for key in _SUMMED:
        out[key] = sum(i[key] for i in items)
    hours = out["minutes"] / 60.0 or 1.0
    out["cpuCores"] = out["cpuCoreHours"] / hours
    out["ramBytes"] = out["ramByteHours"] / hours
    for avg in ("cpuCoreRequestAverage", "cpuCoreUsageAverage", "ramByteRequestAverage", "ramByteUsageAverage"):
        out[avg] = sum(i[avg] * i["minutes"] for i in items) / (out["minutes"] or 1.0)
    out["cpuEfficiency"] = (
        out["cpuCoreUsageAverage"] / out["cpuCoreRequestAverage"]
        if out["cpuCoreRequestAverage"]
        else (1.0 if out["cpuCoreUsageAverage"] else 0.0)
    )
    out["ramEfficiency"] = (
        out["ramByteUsageAverage"] / out["ramByteRequestAverage"]
        if out["ramByteRequestAverage"]
        else (1.0 if out["ramByteUsageAverage"] else 0.0)
    )
    compute = out["cpuCost"] + out["ramCost"]
    out["totalEfficiency"] = (
        (out["cpuCost"] * out["cpuEfficiency"] + out["ramCost"] * out["ramEfficiency"]) / compute
        if compute and IDLE not in name
        else 0.0
    )
    for zero in (
        "cpuCostAdjustment",
        "gpuCount",
        "gpuCostAdjustment",
        "networkTransferBytes",
        "networkReceiveBytes",
        "networkCrossZoneCost",
        "networkCrossRegionCost",
        "networkInternetCost",
        "networkCostAdjustment",
        "loadBalancerCostAdjustment",
        "pvCostAdjustment",
        "ramCostAdjustment",
    ):
        out[zero] = 0.0
    pvs: dict[str, dict[str, Any]] = {}
    lbs: dict[str, dict[str, Any]] = {}
    for item in items:
        for key, pv in (item["pvs"] or {}).items():
            acc = pvs.setdefault(key, {**pv, "byteHours": 0.0, "cost": 0.0})
            acc["byteHours"] += pv["byteHours"]
            acc["cost"] += pv["cost"]
        for key, lb in (item["lbAllocations"] or {}).items():
            acc = lbs.setdefault(key, {**lb, "cost": 0.0, "hours": 0.0})
            acc["cost"] += lb["cost"]
            acc["hours"] += lb["hours"]
    out["pvBytes"] = sum(p["byteHours"] for p in pvs.values()) / hours if pvs else 0.0
    out["pvs"] = pvs or None
    out["lbAllocations"] = lbs or None
    out["rawAllocationOnly"] = None
    return out


def compute_response(
    table: pa.Table,
    window: Window,
    step: timedelta,
    *,
    aggregate: str = "",
    include_idle: bool = True,
    idle_by_node: bool = True,
) -> dict[str, Any]:
    """The `/allocation/compute` body for ALLOCATION rows: one dict of allocations per step."""
    fields = [_AGGREGATES[a.strip().lower()] for a in aggregate.split(",") if a.strip()]
    rows = table.to_pylist()
    data: list[dict[str, Any]] = []
    for sub in window.steps(step):
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if not (sub.start <= row["window_start"] and row["window_end"] <= sub.end):
                continue
            alloc = _allocation(row)
            idle = row["namespace"] == IDLE
            if idle and not include_idle:
                continue
            if not fields or fields == list(_PROPERTIES):
                key = alloc["name"]
            elif idle:
                key = f"{row['node']}/{IDLE}" if idle_by_node else IDLE
            else:
                key = "/".join(str(alloc["properties"].get(f) or "__unallocated__") for f in fields)
            groups.setdefault(key, []).append(alloc)
        data.append({key: _merge(key, items, sub) for key, items in sorted(groups.items())})
    return {"code": 200, "data": data}


def _duration(text: str) -> timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise ValueError(f"expected a step like 1h, 60m or 1d, got {text!r}")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def _window(text: str) -> Window:
    try:
        start, end = text.split(",")
        return Window(
            datetime.fromisoformat(start.replace("Z", "+00:00")), datetime.fromisoformat(end.replace("Z", "+00:00"))
        )
    except ValueError:
        raise ValueError(f"expected window=<RFC3339 start>,<RFC3339 end>, got {text!r}") from None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.rstrip("/") not in ("/allocation/compute", "/allocation", "/model/allocation/compute"):
            self._send(404, {"code": 404, "message": f"no route {url.path}"})
            return
        try:
            window = _window(query.get("window", ""))
            step = _duration(query.get("step", "1h"))
            body = self.server.respond(window, step, query)
        except (ValueError, KeyError) as exc:
            self._send(400, {"code": 400, "message": str(exc)})
            return
        self._send(200, body)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, scenario: Scenario, cluster: Cluster, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.scenario = scenario
        self.cluster = cluster

    def respond(self, window: Window, step: timedelta, query: dict[str, str]) -> dict[str, Any]:
        tables = []
        for i, day in enumerate(self.scenario.day_list):
            day_window = Window.of_day(day)
            if day_window.end > window.start and day_window.start < window.end:
                tables.append(allocation_table(cluster_day(self.scenario, self.cluster, i)))
        table = pa.concat_tables(tables) if tables else None
        if table is None:
            return {"code": 200, "data": [{} for _ in window.steps(step)]}
        return compute_response(
            table,
            window,
            step,
            aggregate=query.get("aggregate", ""),
            include_idle=query.get("includeIdle", "false").lower() == "true",
            idle_by_node=query.get("idleByNode", "false").lower() == "true",
        )


@contextmanager
def serve_opencost(scenario: Scenario, cluster: str, *, port: int = 0) -> Iterator[str]:
    """Run an OpenCost-compatible API for one simulated cluster on 127.0.0.1 (free port); yields its base URL.

    `cluster` is one of `cluster_names(scenario)` (e.g. ``eks-prod-1``); the server computes each requested
    day from the model, so it answers exactly what `simulate` wrote for that cluster.
    """
    provider, index = parse_cluster_name(scenario, cluster)
    server = _Server(scenario, build_cluster(scenario, provider, index), port)
    thread = threading.Thread(target=server.serve_forever, name="simulated-opencost", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
