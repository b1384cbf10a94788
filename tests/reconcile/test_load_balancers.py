"""Load-balancer lines that name no allocated key: an Azure Service's public IP by its ``k8s-azure-service`` tag,
the AKS cluster's shared ``kubernetes`` load balancer over the cluster's LoadBalancer Services by list cost."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kubebill.billing import read_file
from kubebill.reconcile.engine import reconcile
from kubebill.schema import COST, COST_COLUMNS
from kubebill.store.local import LocalStore
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, line

D = DAY.date()
MC = "/subscriptions/s/resourcegroups/mc_rg_c1_westus3/providers/microsoft.network"
KUBERNETES_LB = f"{MC}/loadbalancers/kubernetes"


def lb(service: str, ip: str, cost_per_hour: float) -> list[dict[str, Any]]:
    return [{"service": service, "provider_id": ip, "hours": 1.0, "cost": cost_per_hour}]


def services(hours: range = range(24), *, cluster: str = "c1") -> list[dict[str, Any]]:
    """Per hour: checkout/web (LB list cost 0.01) and shop/api (0.03), one pod each, on an AKS node."""
    node = "azure:///subscriptions/s/resourcegroups/mc_rg_c1_westus3/providers/microsoft.compute/virtualmachines/n1"
    return [
        alloc_row(namespace=ns, provider_id=node, start=h, cluster=cluster, load_balancers=lb(svc, ip, w))
        for h in hours
        for ns, svc, ip, w in (("checkout", "checkout/web", "20.1.2.3", 0.01), ("shop", "shop/api", "20.4.5.6", 0.03))
    ]


def by_namespace(result: pa.Table, resource_id: str, column: str = "BilledCost") -> dict[str, float]:
    out: dict[str, float] = {}
    for r in result.to_pylist():
        if r["ResourceId"] == resource_id:
            out[r["x_K8sNamespace"]] = out.get(r["x_K8sNamespace"], 0.0) + r[column]
    return out


def public_ip(name: str, tags: str, amount: float, **kw: Any) -> dict[str, Any]:
    key = f"{MC}/publicipaddresses/{name}"
    return line(key, amount, hint="c1", Tags=tags, ServiceCategory="Networking", **kw)


def test_public_ip_goes_to_the_service_its_tag_names() -> None:
    tags = '"k8s-azure-cluster-name": "kubernetes","K8S-Azure-Service": "shop/api"'  # no braces, any key case
    result = reconcile(allocation(services()), cost([public_ip("kubernetes-a1", tags, 0.12, hours=24)]), day=D)
    got = by_namespace(result, f"{MC}/publicipaddresses/kubernetes-a1")
    assert got == {"shop": pytest.approx(0.12)}
    assert {r["x_K8sAllocation"] for r in result.to_pylist() if r["ResourceId"].endswith("kubernetes-a1")} == {
        "workload"
    }


def test_an_ip_shared_by_two_services_is_split_by_their_lb_cost() -> None:
    tags = json.dumps({"k8s-azure-service": "checkout/web, shop/api"})
    result = reconcile(allocation(services()), cost([public_ip("shared-ip", tags, 0.4, hours=24)]), day=D)
    got = by_namespace(result, f"{MC}/publicipaddresses/shared-ip")
    assert got == {"checkout": pytest.approx(0.1), "shop": pytest.approx(0.3)}


def test_the_kubernetes_load_balancer_is_split_over_the_clusters_services_by_list_cost() -> None:
    c = cost([line(KUBERNETES_LB, 0.6, hint="c1", effective=0.5, list_cost=0.6, hours=24)])
    result = reconcile(allocation(services()), c, day=D)
    assert by_namespace(result, KUBERNETES_LB) == {"checkout": pytest.approx(0.15), "shop": pytest.approx(0.45)}
    assert by_namespace(result, KUBERNETES_LB, "EffectiveCost") == {
        "checkout": pytest.approx(0.125),
        "shop": pytest.approx(0.375),
    }
    ratios = [
        json.loads(r["AllocatedMethodDetails"])["Elements"][0]["AllocatedRatio"]
        for r in result.to_pylist()
        if r["ResourceId"] == KUBERNETES_LB
    ]
    assert sum(ratios) == pytest.approx(1.0)


def test_the_internal_load_balancer_goes_to_the_internal_services() -> None:
    node = "azure:///subscriptions/s/resourcegroups/mc_rg_c1_westus3/providers/microsoft.compute/virtualmachines/n1"
    a = allocation(
        [
            alloc_row(namespace="checkout", provider_id=node, load_balancers=lb("checkout/web", "20.1.2.3", 0.01)),
            alloc_row(namespace="intra", provider_id=node, load_balancers=lb("intra/grpc", "10.224.0.7", 0.01)),
            alloc_row(namespace="ops", provider_id=node, load_balancers=lb("ops/dns", "172.20.1.9", 0.03)),
        ]
    )
    internal = f"{KUBERNETES_LB}-internal"
    result = reconcile(a, cost([line(KUBERNETES_LB, 0.1, hint="c1"), line(internal, 0.2, hint="c1")]), day=D)
    assert by_namespace(result, KUBERNETES_LB) == {"checkout": pytest.approx(0.1)}
    assert by_namespace(result, internal) == {"intra": pytest.approx(0.05), "ops": pytest.approx(0.15)}


def test_hours_without_a_service_leave_the_cluster_load_balancer_shared() -> None:
    c = cost([line(KUBERNETES_LB, 0.025, hint="c1", start=h) for h in range(4)])
    result = reconcile(allocation(services(range(2))), c, day=D)  # Services exist in hours 0-1 only
    rows = [r for r in result.to_pylist() if r["ResourceId"] == KUBERNETES_LB]
    per_hour = {(r["ChargePeriodStart"].hour, r["x_K8sNamespace"]) for r in rows}
    assert per_hour == {
        (0, "checkout"),
        (0, "shop"),
        (1, "checkout"),
        (1, "shop"),
        (2, "__shared__"),
        (3, "__shared__"),
    }
    assert sum(r["BilledCost"] for r in rows) == pytest.approx(0.1)


def test_lines_no_service_claims_stay_shared_or_outside() -> None:
    untagged = json.dumps({"aks-managed-type": "aks-slb-managed-outbound-ip"})
    unknown = json.dumps({"k8s-azure-service": "gone/old"})
    c = cost(
        [
            public_ip("outbound", untagged, 0.1),
            public_ip("old", unknown, 0.2),
            line(KUBERNETES_LB, 0.3, hint="c1"),
            # another cluster's load balancer and IP never take c1's Services
            line(KUBERNETES_LB.replace("_c1_", "_c2_"), 0.4, hint="c2"),
            line(f"{MC}/publicipaddresses/x", 0.5, hint="c2", Tags=json.dumps({"k8s-azure-service": "shop/api"})),
        ]
    )
    result = reconcile(allocation(services(range(1))), c, day=D)
    kinds = {
        r["ResourceId"].rsplit("/", 1)[-1] + "@" + r["x_K8sCluster"]: r["x_K8sNamespace"] for r in result.to_pylist()
    }
    assert kinds["outbound@c1"] == "__shared__"
    assert kinds["old@c1"] == "__shared__"
    assert kinds["kubernetes@c2"] == kinds["x@c2"] == "__unallocated__"
    assert by_namespace(result, KUBERNETES_LB) == {"checkout": pytest.approx(0.075), "shop": pytest.approx(0.225)}


def test_real_aks_export_lines(external: Path, tmp_path: Path) -> None:
    """The real AKS export's `kubernetes` LB and outbound IP lines of 2025-06-17, plus a Service IP line made from
    the outbound IP's (the real shape of the tag the AKS cloud provider writes: ``<namespace>/<name>``)."""
    source = external / "aks" / "cost-management-export.csv"
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        picked = [
            r
            for r in reader
            if r["UsageDateTime"] == "2025-06-17"
            and r["ResourceType"] in ("microsoft.network/loadbalancers", "microsoft.network/publicipaddresses")
        ]
    outbound = next(r for r in picked if "publicipaddresses" in r["ResourceType"])
    service_ip = dict(outbound)
    service_ip["InstanceId"] = outbound["InstanceId"].rsplit("/", 1)[0] + "/kubernetes-a0e4bf29f6554bdda52ab7419614b38"
    tags = json.loads(outbound["Tags"])
    del tags["aks-managed-type"]
    service_ip["Tags"] = json.dumps(
        {**tags, "k8s-azure-cluster-name": "kubernetes", "k8s-azure-service": "checkout/web"}
    )
    (tmp_path / "bill").mkdir()
    with (tmp_path / "bill" / "export.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows([*picked, service_ip])
    bill = pa.Table.from_batches(list(read_file(LocalStore(tmp_path), "bill/export.csv")), schema=COST)
    assert bill.num_rows == len(picked) + 1 >= 3

    result = reconcile(allocation(services(cluster="akhantimirov-aks")), bill, day=D)
    lbs = [r["ResourceId"] for r in bill.to_pylist() if "loadbalancers/kubernetes" in r["ResourceId"].lower()]
    assert len(lbs) >= 2  # LB rules and data processed
    for rid in lbs:
        line_cost = sum(r["BilledCost"] for r in bill.to_pylist() if r["ResourceId"] == rid)
        got = by_namespace(result, rid)
        assert got == {"checkout": pytest.approx(line_cost / 4), "shop": pytest.approx(line_cost * 3 / 4)}
    assert set(by_namespace(result, service_ip["InstanceId"])) == {"checkout"}
    assert set(by_namespace(result, outbound["InstanceId"])) == {"__shared__"}
    billed = [r for r in result.to_pylist() if r["x_K8sAllocation"] != "estimated"]  # (the nodes have no bill)
    for column in COST_COLUMNS:  # the engine's invariants held; the day's totals too
        ours = sum(r[column] or 0.0 for r in billed)
        assert ours == pytest.approx(sum(v or 0.0 for v in bill[column].to_pylist()), rel=1e-12)
