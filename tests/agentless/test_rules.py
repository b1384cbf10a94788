"""The clouds' own Kubernetes splits as allocation sources, rule by rule, on hand-built lines (DESIGN 4):
AWS split cost allocation data (SCAD) splits its parent EC2 line, GKE cost allocation labels make namespace rows,
`allocation_source` chooses between them and an allocation export, and each defect has a named outcome."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from kubebill.reconcile.engine import Options, Reconciliation
from kubebill.schema import COST_COLUMNS
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line

D = DAY.date()
SCAD = "aws-split-cost-allocation-data"
GKE = "gke-cost-allocation"


def split_row(pod: str, namespace: str, split: float, unused: float, *, parent: str = "i-0001", **kw: Any) -> dict:
    """A SCAD row as the AWS reader makes it: no cost of its own, its split in x_CloudSplit."""
    out = line(f"arn:aws:eks:us-east-1:1:pod/eks-1/{namespace}/{pod}/u", 0.0, **kw)
    out["x_CloudSplit"] = {
        "parent": parent, "split_cost": split, "unused_cost": unused, "cluster": "eks-1", "node": "ip-10-0-0-1",
        "namespace": namespace, "controller_kind": "deployment", "controller": f"{namespace}-ctl", "pod": pod,
        "labels": None,
    }  # fmt: skip
    return out


def gke_line(key: str, namespace: str | None, cost_: float, *, cluster: str = "gke-1", **kw: Any) -> dict:
    out = line(key, cost_, **kw)
    out["ProviderName"] = "Google Cloud"
    out["x_CloudSplit"] = {
        "parent": None, "split_cost": None, "unused_cost": None, "cluster": cluster, "node": key,
        "namespace": namespace, "controller_kind": None, "controller": None, "pod": None,
        "labels": json.dumps({"team": "t1"}) if namespace and not namespace.startswith("__") else None,
    }  # fmt: skip
    return out


def run(alloc: pa.Table, lines: list[dict], source: str = "auto") -> tuple[list[dict], dict[str, int]]:
    rec = Reconciliation(alloc, cost(lines), day=D, options=Options(allocation_source=source))
    try:
        return rec.table().to_pylist(), rec.stats()
    finally:
        rec.close()


def by_line(rows: list[dict]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for r in rows:
        sums = out.setdefault(r["x_SourceRowId"], dict.fromkeys(COST_COLUMNS, 0.0))
        for c in COST_COLUMNS:
            sums[c] += r[c]
    return out


PARENT = line("i-0001", 10.0, effective=6.0, list_cost=12.0, hint="eks-1", row=0)
PODS = [split_row("web-1", "web", 3.0, 1.5, row=1), split_row("db-1", "db", 1.0, 0.5, row=2)]


def test_scad_splits_every_cost_column_of_the_parent_by_the_split_rows_and_unused_goes_to_idle() -> None:
    rows, _ = run(allocation([]), [PARENT, *PODS])
    assert {r["AllocatedMethodId"] for r in rows} == {SCAD}
    ratio = {(r["x_K8sNamespace"], r["x_K8sPod"]): r["BilledCost"] / 10.0 for r in rows}
    assert ratio == pytest.approx({("web", "web-1"): 0.5, ("db", "db-1"): 1 / 6, ("__idle__", "__idle__"): 1 / 3})
    for r in rows:
        share = r["BilledCost"] / 10.0
        assert r["EffectiveCost"] == pytest.approx(6.0 * share) and r["ListCost"] == pytest.approx(12.0 * share)
        assert r["x_K8sCluster"] == "eks-1" and r["x_K8sNode"] == "ip-10-0-0-1"
    idle = next(r for r in rows if r["x_K8sAllocation"] == "idle")
    assert idle["x_K8sNamespace"] == "__idle__"
    assert by_line(rows) == {0: pytest.approx({"BilledCost": 10.0, "EffectiveCost": 6.0, "ListCost": 12.0,
                                               "ContractedCost": 10.0})}  # fmt: skip


def test_scad_split_rows_never_add_to_the_bill() -> None:
    rows, _ = run(allocation([]), [PARENT, *PODS])
    assert {r["x_SourceRowId"] for r in rows} == {0}  # the split rows are weights, never lines


EXPORT = [alloc_row(cluster="eks-1", namespace="web", cpu=1.0, ram=0.0), idle_row(cluster="eks-1", cpu=1.0, ram=0.0)]


@pytest.mark.parametrize(("source", "method"), [("auto", "opencost-list-cost"), ("export", "opencost-list-cost"),
                                                ("cloud", SCAD)])  # fmt: skip
def test_source_selection_between_the_export_and_the_cloud_split(source: str, method: str) -> None:
    rows, stats = run(allocation(EXPORT), [PARENT, *PODS], source)
    assert {r["AllocatedMethodId"] for r in rows} == {method}
    assert "estimated" not in stats  # the export's rows of a cloud-split node give way, never become estimates
    assert by_line(rows)[0] == pytest.approx({"BilledCost": 10.0, "EffectiveCost": 6.0, "ListCost": 12.0,
                                              "ContractedCost": 10.0})  # fmt: skip


def test_export_source_ignores_the_cloud_split_of_a_cluster_with_no_export() -> None:
    rows, _ = run(allocation([]), [PARENT, *PODS], "export")
    assert {(r["x_K8sAllocation"], r["x_K8sNamespace"]) for r in rows} == {("unallocated", "__unallocated__")}


def test_gke_lines_become_namespace_rows_with_idle_system_and_labels() -> None:
    lines = [
        gke_line("gke-gke-1-pool-a", "web", 4.0, row=0),
        gke_line("gke-gke-1-pool-a", "__idle__", 1.0, row=1),
        gke_line("gke-gke-1-pool-a", None, 0.5, row=2),
    ]
    rows, _ = run(allocation([]), lines)
    got = {r["x_SourceRowId"]: r for r in rows}
    assert len(rows) == 3 and {r["AllocatedMethodId"] for r in rows} == {GKE}
    assert (got[0]["x_K8sNamespace"], got[0]["x_K8sPod"], got[0]["x_K8sAllocation"]) == ("web", None, "workload")
    assert json.loads(got[0]["x_K8sLabels"]) == {"team": "t1"} and got[0]["BilledCost"] == 4.0
    assert (got[1]["x_K8sNamespace"], got[1]["x_K8sAllocation"]) == ("__idle__", "idle")
    assert (got[2]["x_K8sNamespace"], got[2]["x_K8sAllocation"]) == (None, "system")
    assert {r["x_K8sCluster"] for r in rows} == {"gke-1"}


def test_split_rows_whose_parent_is_missing_are_named_and_lose_nothing() -> None:
    orphans = [split_row("web-1", "web", 3.0, 1.0, parent="i-0099", row=1)]
    rows, stats = run(allocation([]), [PARENT, *orphans])
    assert stats["cloud_split_orphan_rows"] == 1
    assert by_line(rows)[0]["BilledCost"] == pytest.approx(10.0)
    assert {r["x_K8sNamespace"] for r in rows} == {"__shared__"}  # its own line, no split of its own: the cluster's


def test_split_costs_that_do_not_sum_to_the_parent_are_named_and_split_by_their_ratios() -> None:
    pods = [split_row("web-1", "web", 30.0, 0.0, row=1), split_row("db-1", "db", 10.0, 0.0, row=2)]
    rows, stats = run(allocation([]), [PARENT, *pods])
    assert stats["cloud_split_mismatched_parents"] == 1
    assert {r["x_K8sPod"]: r["BilledCost"] for r in rows} == pytest.approx({"web-1": 7.5, "db-1": 2.5, "__idle__": 0})


def test_namespace_labels_on_non_gke_lines_are_named_and_split_as_any_line() -> None:
    labelled = line("i-0001", 10.0, hint="eks-1", row=0, Tags=json.dumps({"k8s-namespace": "web"}))
    rows, stats = run(allocation(EXPORT), [labelled])
    assert stats["namespace_labels_ignored"] == 1
    assert {r["AllocatedMethodId"] for r in rows} == {"opencost-list-cost"}
    assert sum(r["BilledCost"] for r in rows) == pytest.approx(10.0)
