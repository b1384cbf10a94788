"""Prometheus exposition of the latest results (DESIGN 3.1), cached per result version.

Amounts are in the bill's currency (label `currency`); Prometheus has no base unit for money, so cost
families end in `_cost`. `KUBEBILL_METRICS_MODE=total` gives the window's amounts (the newest day),
`rate` gives them per hour; `kubebill_cost_window_seconds` says which span one amount covers, so the
dashboards work in both modes. Every family carries `tenant_id` (KUBEBILL_TENANT_ID).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests

from kubebill import budgets, figures, health, log
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import compat
from kubebill.sinks.costs import COST_TYPES
from kubebill.sinks.exposition import CONTENT_TYPE, Family, render_text
from kubebill.sinks.privacy import shown
from kubebill.sinks.results import result_objects
from kubebill.sinks.snapshot import Money, Snapshot, build
from kubebill.store.base import Store

__all__ = ["CONTENT_TYPE", "families", "push", "render"]

_log = log.get("metrics")


@dataclass(frozen=True)
class _Cached:
    version: tuple[Any, ...]
    allocation_prefixes: tuple[str, ...]
    allocation_keys: tuple[tuple[str, str], ...]
    body: bytes


_CACHE: dict[tuple[Any, ...], _Cached] = {}
_LOCK = threading.Lock()


def _etag(store: Store, key: str) -> str | None:
    try:
        return store.head(key).etag
    except FileNotFoundError:
        return None


def _listed(store: Store, prefixes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((info.key, info.etag) for prefix in prefixes for info in store.list(prefix))


def render(store: Store, settings: Settings, *, now: datetime | None = None) -> tuple[bytes, str]:
    """(exposition body, content type) of the latest results; re-read only when a result or health changed."""
    layout = Layout.from_settings(settings)
    results = result_objects(store, layout)
    version = (
        tuple((day, info.etag) for day, info in results.items()),
        _etag(store, layout.state_key(health.KEY)),
        _etag(store, budgets.FILE_KEY),
    )
    key = (
        store.url,
        layout,
        settings.tenant_id,
        settings.hash_pod_names,
        settings.metrics_top_pods,
        settings.metrics_mode,
        settings.metrics_compat,
    )
    with _LOCK:
        cached = _CACHE.get(key)
        if (
            cached is not None
            and cached.version == version
            and _listed(store, cached.allocation_prefixes) == cached.allocation_keys
        ):
            return cached.body, CONTENT_TYPE
        started = time.perf_counter()
        snap = build(store, layout, results, top_pods=settings.metrics_top_pods)
        snap.source_difference = _source_difference(store, layout, snap.day if snap.source == "results" else None)
        record = health.read(store, layout)
        body = render_text(
            families(snap, record, settings, now=now or datetime.now(UTC)), common={"tenant_id": settings.tenant_id}
        )
        _CACHE[key] = _Cached(version, snap.allocation_prefixes, _listed(store, snap.allocation_prefixes), body)
        _log.info(
            "rendered metrics",
            extra={"day": str(snap.day), "source": snap.source, "seconds": round(time.perf_counter() - started, 3)},
        )
        return body, CONTENT_TYPE


def _source_difference(store: Store, layout: Layout, day: date | None) -> list[tuple[str, str, str, float]]:
    """The newest day's cross-check of the allocation export against the cloud's split (none: no samples)."""
    if day is None:
        return []
    from kubebill.sinks import compare_report

    table = compare_report.read(store, layout, [day])
    return [
        (r["cluster"], r["namespace"] or "", r["BillingCurrency"] or "", r["difference_ratio"])
        for r in table.to_pylist()
        if r["difference_ratio"] is not None
    ]


def _money_samples(family: Family, money: Money, scale: float, **labels: str | None) -> None:
    for index, cost_type in enumerate(COST_TYPES):
        family.add(money[index] * scale, cost_type=cost_type, **labels)


def _timestamp(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def families(snap: Snapshot, record: dict[str, Any], settings: Settings, *, now: datetime) -> list[Family]:
    """Every family of the exposition (without the common tenant_id label)."""
    rate = settings.metrics_mode == "rate"
    scale = 1.0 / snap.hours if rate else 1.0
    hashed = settings.hash_pod_names
    out: list[Family] = []

    def family(name: str, type_: str, help_: str) -> Family:
        out.append(Family(name, type_, help_))
        return out[-1]

    per = "per hour" if rate else "over the window"
    cluster = family("kubebill_cluster_cost", "gauge", f"Cluster cost {per} by component and cost column")
    for c, currency, component, money in snap.cluster:
        _money_samples(cluster, money, scale, cluster=c, currency=currency, component=component)
    namespace = family("kubebill_namespace_cost", "gauge", f"Namespace cost {per} by component and cost column")
    for c, ns, currency, component, money in snap.namespace:
        _money_samples(namespace, money, scale, cluster=c, namespace=ns, currency=currency, component=component)
    allocation = family(
        "kubebill_cluster_allocation_cost",
        "gauge",
        f"Cluster cost {per} by allocation kind (workload, idle, system, shared, unmounted, unallocated, estimated)",
    )
    for c, currency, kind, money in snap.allocation:
        _money_samples(allocation, money, scale, cluster=c, currency=currency, allocation=kind)
    ratio = family(
        figures.SHARE_METRIC,
        "gauge",
        "Share of the cluster cost (idle, unallocated incl. unmounted, shared) by cost column (kubebill.figures)",
    )
    by_kind: dict[tuple[str, str, str], dict[str, float]] = {}
    for c, currency, kind, money in snap.allocation:
        for index, cost_type in enumerate(COST_TYPES):
            by_kind.setdefault((c, currency, cost_type), {})[kind] = money[index]
    for (c, currency, cost_type), kinds in sorted(by_kind.items()):
        for figure, value in figures.shares(kinds).items():
            if value is not None:
                ratio.add(value, cluster=c, currency=currency, cost_type=cost_type, figure=figure)
    node = family("kubebill_node_cost", "gauge", f"Node compute cost {per}, idle included")
    for c, name, currency, spot, money in snap.node:
        _money_samples(node, money, scale, cluster=c, node=name, currency=currency, spot=str(spot).lower())
    pv = family("kubebill_pv_cost", "gauge", f"Persistent volume cost {per}")
    for c, ns, name, currency, money in snap.pv:
        _money_samples(pv, money, scale, cluster=c, namespace=ns, persistentvolume=name, currency=currency)
    pod = family("kubebill_pod_cost", "gauge", f"Cost {per} of the top {settings.metrics_top_pods} pods by billed cost")
    for c, ns, name, _node, currency, component, money in snap.pod:
        _money_samples(
            pod, money, scale, cluster=c, namespace=ns, pod=shown(name, hashed=hashed), currency=currency,
            component=component,
        )  # fmt: skip
    savings = family("kubebill_namespace_savings_cost", "gauge", f"List minus effective cost {per} by pricing category")
    for c, ns, currency, category, value in snap.savings:
        savings.add(value * scale, cluster=c, namespace=ns, currency=currency, pricing_category=category)
    origin = family(
        "kubebill_namespace_origin_cost",
        "gauge",
        f"Namespace cost {per}: its own (origin=own) and the shares it received (idle, shared, external)",
    )
    for c, ns, currency, name, money in snap.origin:
        _money_samples(origin, money, scale, cluster=c, namespace=ns, currency=currency, origin=name)
    budget = family(
        "kubebill_namespace_monthly_budget_cost",
        "gauge",
        f"Monthly budget of a namespace ({budgets.FILE_KEY} in the store, else its {budgets.LABEL} label)",
    )
    for c, ns, currency, value in snap.budget:
        budget.add(value, cluster=c, namespace=ns, currency=currency)
    family(
        "kubebill_budget_problems", "gauge", "Budgets left out (bad file, other currency than the bill): see the logs"
    ).add(float(len(snap.budget_problems)))
    mtd = family(
        "kubebill_cluster_month_to_date_cost", "gauge", "Cluster cost from the first of the window's month to its end"
    )
    for c, currency, money in snap.month_to_date:
        _money_samples(mtd, money, 1.0, cluster=c, currency=currency)
    cluster_eff = family("kubebill_cluster_efficiency_ratio", "gauge", "Cluster usage / request (cpu, ram, total)")
    namespace_eff = family(
        "kubebill_namespace_efficiency_ratio", "gauge", "Namespace usage / request (cpu, ram, total)"
    )
    for c, eff_ns, resource, value in snap.efficiency:
        if eff_ns is None:
            cluster_eff.add(value, cluster=c, resource=resource)
        else:
            namespace_eff.add(value, cluster=c, namespace=eff_ns, resource=resource)
    difference = family(
        "kubebill_allocation_source_difference_ratio",
        "gauge",
        "(allocation export - cloud's own split) / cloud's, EffectiveCost of the node lines both split, per namespace",
    )
    for c, ns, currency, value in snap.source_difference:
        difference.add(value, cluster=c, namespace=ns, currency=currency)
    window = family(
        "kubebill_cost_window_seconds",
        "gauge",
        "Seconds one cost amount covers (the window; 3600 in rate mode)",
    )
    window.add(3600.0 if rate else snap.hours * 3600.0, mode=settings.metrics_mode)
    start = family("kubebill_cost_window_start_timestamp_seconds", "gauge", "Start of the window the costs describe")
    if snap.day is not None:
        start.add(datetime(snap.day.year, snap.day.month, snap.day.day, tzinfo=UTC).timestamp())
    available = family(
        "kubebill_results_available", "gauge", "1 when the costs come from merged results; source says from what"
    )
    available.add(1.0 if snap.source == "results" else 0.0, source=snap.source)
    family("kubebill_result_objects", "gauge", "Days that have a merged result (one object each)").add(snap.result_days)
    out.extend(_health(record, now))
    if settings.metrics_compat:
        out.extend(compat.families(snap, record, settings))
    return out


def _health(record: dict[str, Any], now: datetime) -> list[Family]:
    out = [
        Family("kubebill_last_merge_timestamp_seconds", "gauge", "End of the last merge (0: never)"),
        Family("kubebill_last_merge_duration_seconds", "gauge", "Duration of the last merge"),
        Family("kubebill_last_merge_success", "gauge", "1 if the last merge succeeded, 0 if it failed or none ran"),
        Family("kubebill_health_updated_timestamp_seconds", "gauge", "Last update of the health record (0: never)"),
        Family("kubebill_metrics_rendered_timestamp_seconds", "gauge", "When this exposition was computed"),
    ]
    out[0].add(_timestamp(record.get("last_merge_time")))
    out[1].add(float(record.get("last_merge_duration_seconds") or 0.0))
    out[2].add(1.0 if record.get("last_merge_success") is True else 0.0)
    out[3].add(_timestamp(record.get("updated")))
    out[4].add(now.timestamp())
    for counter in health.COUNTERS:
        family = Family(f"kubebill_{counter}", "counter", f"Health counter {counter} of the pipeline")
        family.add(float(record.get(counter) or 0))
        out.append(family)
    out.append(health.inputs_family(record))
    return out


def push(store: Store, settings: Settings, *, timeout: float = 10.0) -> bool:
    """PUT the exposition to KUBEBILL_PUSHGATEWAY_URL (job `kubebill`); False when no gateway is set."""
    if not settings.pushgateway_url:
        return False
    body, content_type = render(store, settings)
    url = settings.pushgateway_url.rstrip("/") + "/metrics/job/kubebill"
    response = requests.put(url, data=body, headers={"Content-Type": content_type}, timeout=timeout)
    response.raise_for_status()
    return True
