"""AWS's own published example of split cost allocation data (data/aws_scad_example.csv; source, licence and what
was added in data/README.md) read by the real CUR reader and merged: the instance-hour reaches its four pods by the
example's split costs and the unused costs go to `__idle__`, with exact conservation. No public GKE cost
allocation export rows were found (data/README.md says what was searched), so GKE has no test here."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill.billing import read_file
from kubebill.cli import main
from kubebill.layout import Layout
from kubebill.reconcile.engine import Options, Reconciliation
from kubebill.schema import COST, COST_COLUMNS
from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.reconcile.tables import DAY, allocation

EXAMPLE = Path(__file__).parent / "data" / "aws_scad_example.csv"
KEY = "billing/aws/example/aws_scad_example.csv"
# The example's table (Step 4): pod → (namespace, split cost, unused cost); the instance-hour costs $1.
PODS = {
    "Pod1": ("Namespace1", 0.22, 0.01),
    "Pod2": ("Namespace2", 0.38, 0.02),
    "Pod3": ("Namespace1", 0.18, 0.01),
    "Pod4": ("Namespace2", 0.18, 0.01),
}
INSTANCE_COST = 1.0
WEIGHTS = sum(split + unused for _, split, unused in PODS.values())  # $1.01: the example rounds to cents


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / KEY).parent.mkdir(parents=True)
    shutil.copy(EXAMPLE, tmp_path / KEY)
    return LocalStore(tmp_path)


def test_the_reader_keeps_the_examples_split_rows_with_their_pods(store: LocalStore) -> None:
    excluded: dict[str, int] = {}
    got = pa.Table.from_batches(list(read_file(store, KEY, excluded=excluded)), schema=COST)
    assert excluded == {"aws-split-cost-allocation-child-row": 4}
    assert got["BilledCost"].to_pylist() == [INSTANCE_COST, 0, 0, 0, 0]
    rows = got["x_CloudSplit"].to_pylist()[1:]
    assert {s["pod"]: (s["namespace"], s["split_cost"], s["unused_cost"]) for s in rows} == PODS
    assert {s["parent"] for s in rows} == {"instance1"}


def test_the_examples_rounding_is_within_the_parent_tolerance_and_nothing_is_lost(store: LocalStore) -> None:
    lines = pa.Table.from_batches(list(read_file(store, KEY, excluded={})), schema=COST)
    rec = Reconciliation(allocation([]), lines, day=DAY.date(), options=Options(allocation_source="auto"))
    try:
        rows, stats = rec.table().to_pylist(), rec.stats()
    finally:
        rec.close()
    assert "cloud_split_mismatched_parents" not in stats and "cloud_split_orphan_rows" not in stats
    for column in COST_COLUMNS:
        assert math.fsum(r[column] for r in rows) == pytest.approx(INSTANCE_COST, rel=1e-12)


def test_merge_splits_the_examples_instance_to_its_pods_and_unused_to_idle(store: LocalStore, tmp_path: Path) -> None:
    assert main(["merge", "--store", str(tmp_path)]) == 0
    got = results.read_days(store, Layout(), results.available_days(store, Layout())).to_pylist()
    assert {r["AllocatedMethodId"] for r in got} == {"aws-split-cost-allocation-data"}
    assert {r["x_K8sCluster"] for r in got} == {"Cluster1"}
    assert math.fsum(r["BilledCost"] for r in got) == pytest.approx(INSTANCE_COST, rel=1e-12)
    pods = {r["x_K8sPod"]: (r["x_K8sNamespace"], r["BilledCost"]) for r in got if r["x_K8sAllocation"] != "idle"}
    scale = INSTANCE_COST / WEIGHTS
    assert pods == {pod: (ns, pytest.approx(split * scale, rel=1e-12)) for pod, (ns, split, _) in PODS.items()}
    idle = [r for r in got if r["x_K8sAllocation"] == "idle"]
    assert [(r["x_K8sNamespace"], r["x_K8sPod"]) for r in idle] == [("__idle__", "__idle__")]
    assert idle[0]["BilledCost"] == pytest.approx(sum(u for *_, u in PODS.values()) * scale, rel=1e-12)
    namespaces: dict[str, float] = {}
    for ns, cost in pods.values():
        namespaces[ns] = namespaces.get(ns, 0.0) + cost
    # The example's namespace totals ($0.42 and $0.59, split + unused), less the unused that kubebill keeps as idle.
    assert namespaces == pytest.approx({"Namespace1": 0.40 * scale, "Namespace2": 0.56 * scale}, rel=1e-12)
