"""KUBEBILL_METRICS_COMPAT: the families two exporters users run today emit, by their old names.

`cloudtuner_kubecost_*` (Kubecost allocation exporter: namespace/cluster/top-N pod cost by component,
efficiencies, scrape health; window totals or hourly rates like KUBEBILL_METRICS_MODE) and `kube_cost_*`
(kube-cost-exporter: pod/namespace/node/cluster hourly, namespace daily, PV monthly, spot savings hourly).
Both carried list prices; here they carry EffectiveCost (amortized, after commitment discounts) of the
reconciled result. `kube_cost_*_usd` names are kept as they were; the `currency` label says the real one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubebill.settings import Settings
from kubebill.sinks.exposition import Family
from kubebill.sinks.privacy import shown
from kubebill.sinks.snapshot import Snapshot

EFFECTIVE = 1  # index of EffectiveCost in a Money tuple
HOURS_PER_MONTH = 730.0
_CLOUDTUNER_COMPONENTS = {"total": "total", "cpu": "cpu", "ram": "ram", "pv": "pv", "network": "network"}
_PREFIX = "cloudtuner_kubecost"


def families(snap: Snapshot, record: dict[str, Any], settings: Settings) -> list[Family]:
    return [*_cloudtuner(snap, record, settings), *_kube_cost(snap, settings)]


def _cloudtuner(snap: Snapshot, record: dict[str, Any], settings: Settings) -> list[Family]:
    scale = 1.0 / snap.hours if settings.metrics_mode == "rate" else 1.0
    out: dict[str, Family] = {}

    def fam(name: str, help_: str, type_: str = "gauge") -> Family:
        full = f"{_PREFIX}_{name}"
        return out.setdefault(full, Family(full, type_, help_))

    for scope in ("namespace", "cluster"):
        for theirs in (*_CLOUDTUNER_COMPONENTS.values(), "lb"):
            fam(f"{scope}_{theirs}_cost", f"{scope} {theirs} cost (kubebill effective cost)")
        for resource in ("cpu", "ram", "total"):
            fam(f"{scope}_{resource}_efficiency", f"{scope} {resource} efficiency")
    names = {**_CLOUDTUNER_COMPONENTS, "load_balancer": "lb"}
    for c, ns, currency, component, money in snap.namespace:
        if component in names:
            value = money[EFFECTIVE] * scale
            fam(f"namespace_{names[component]}_cost", "").add(value, cluster=c, namespace=ns, currency=currency)
    for c, currency, component, money in snap.cluster:
        if component in names:
            fam(f"cluster_{names[component]}_cost", "").add(money[EFFECTIVE] * scale, cluster=c, currency=currency)
    for c, ns_or_none, resource, value in snap.efficiency:
        if ns_or_none is None:
            fam(f"cluster_{resource}_efficiency", "").add(value, cluster=c)
        else:
            fam(f"namespace_{resource}_efficiency", "").add(value, cluster=c, namespace=ns_or_none)
    for component in ("total", "cpu", "ram"):
        fam(f"pod_{component}_cost", f"top-N pod {component} cost (kubebill effective cost)")
    for c, ns, pod, _node, currency, component, money in snap.pod:
        if component in ("total", "cpu", "ram"):
            fam(f"pod_{component}_cost", "").add(
                money[EFFECTIVE] * scale, cluster=c, namespace=ns, pod=shown(pod, hashed=settings.hash_pod_names),
                currency=currency,
            )  # fmt: skip
    fam("exporter_scrape_duration_seconds", "Duration of the last merge").add(
        float(record.get("last_merge_duration_seconds") or 0.0)
    )
    fam("exporter_scrape_success", "1 if the last merge succeeded").add(
        1.0 if record.get("last_merge_success") is True else 0.0
    )
    fam("exporter_scrape_errors_total", "Merges that failed", "counter").add(
        float(record.get("merge_failures_total") or 0)
    )
    return list(out.values())


def _kube_cost(snap: Snapshot, settings: Settings) -> list[Family]:
    hourly = 1.0 / snap.hours
    pod = Family("kube_cost_pod_hourly_usd", "gauge", "Hourly cost of pod (kubebill effective cost)")
    for c, ns, name, node_name, currency, component, money in snap.pod:
        if component == "total":
            pod.add(
                money[EFFECTIVE] * hourly, cluster=c, namespace=ns, pod=shown(name, hashed=settings.hash_pod_names),
                node=node_name, currency=currency,
            )  # fmt: skip
    ns_hourly = Family("kube_cost_namespace_hourly_usd", "gauge", "Hourly cost per namespace")
    ns_daily = Family("kube_cost_namespace_daily_usd", "gauge", "Daily cost per namespace")
    for c, ns, currency, component, money in snap.namespace:
        if component == "total":
            ns_hourly.add(money[EFFECTIVE] * hourly, cluster=c, namespace=ns, currency=currency)
            ns_daily.add(money[EFFECTIVE] * hourly * 24, cluster=c, namespace=ns, currency=currency)
    nodes = Family("kube_cost_node_hourly_usd", "gauge", "Hourly cost per node")
    for c, name, currency, is_spot, money in snap.node:
        nodes.add(
            money[EFFECTIVE] * hourly, cluster=c, node=name, instance_type="", is_spot=str(is_spot).lower(),
            currency=currency,
        )  # fmt: skip
    cluster = Family("kube_cost_cluster_hourly_usd", "gauge", "Total hourly cost of the cluster")
    for c, currency, component, money in snap.cluster:
        if component == "total":
            cluster.add(money[EFFECTIVE] * hourly, cluster=c, currency=currency)
    pv = Family("kube_cost_pv_monthly_usd", "gauge", "Monthly cost of persistent volume")
    for c, ns, name, currency, money in snap.pv:
        pv.add(
            money[EFFECTIVE] * hourly * HOURS_PER_MONTH, cluster=c, pv_name=name, namespace=ns, storage_class="",
            currency=currency,
        )  # fmt: skip
    spot = Family("kube_cost_spot_savings_hourly_usd", "gauge", "Hourly savings from spot instances")
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for c, _ns, currency, category, value in snap.savings:
        if category == "spot":
            sums[(c, currency)] += value
    for (c, currency), value in sorted(sums.items()):
        spot.add(value * hourly, cluster=c, currency=currency)
    return [pod, ns_hourly, ns_daily, nodes, cluster, pv, spot]
