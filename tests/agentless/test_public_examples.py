"""AWS's own published examples of split cost allocation data (data/aws_scad_*.csv; sources, licence and what was
added in data/README.md) read by the real CUR reader and merged: each instance-hour reaches its four pods by the
example's split costs and the unused costs go to `__idle__`, with exact conservation. No public GKE cost
allocation export rows were found (data/README.md says what was searched), so GKE has no test here."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Example:
    """One published example: its file, the instance-hour's cost and parent key, and its table of pods
    (pod → namespace, split cost, unused cost)."""

    file: str
    instance_cost: float
    parent: str
    pods: dict[str, tuple[str, float, float]]

    @property
    def weights(self) -> float:
        return sum(split + unused for _, split, unused in self.pods.values())


EXAMPLES = {
    # "Example of split cost allocation data", Step 4: rounded to cents, its weights add up to $1.01.
    "m5.xlarge": Example(
        "aws_scad_example.csv", 1.0, "instance1",
        {"Pod1": ("Namespace1", 0.22, 0.01), "Pod2": ("Namespace2", 0.38, 0.02),
         "Pod3": ("Namespace1", 0.18, 0.01), "Pod4": ("Namespace2", 0.18, 0.01)},
    ),
    # "Example of split cost allocation data for accelerated instances", Table 4: its weights add up to $10.
    "p3.16xlarge": Example(
        "aws_scad_accelerated_example.csv", 10.0, "instance 1",
        {"Pod 1": ("Namespace 1", 1.85, 0.06), "Pod 2": ("Namespace 2", 3.18, 0.09),
         "Pod 3": ("Namespace 1", 2.35, 0.06), "Pod 4": ("Namespace 2", 2.35, 0.06)},
    ),
}  # fmt: skip
KEY = "billing/aws/example/example.csv"


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest) -> Example:
    return EXAMPLES[request.param]


@pytest.fixture
def store(tmp_path: Path, example: Example) -> LocalStore:
    (tmp_path / KEY).parent.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "data" / example.file, tmp_path / KEY)
    return LocalStore(tmp_path)


def test_the_reader_keeps_the_examples_split_rows_with_their_pods(store: LocalStore, example: Example) -> None:
    excluded: dict[str, int] = {}
    got = pa.Table.from_batches(list(read_file(store, KEY, excluded=excluded)), schema=COST)
    assert excluded == {"aws-split-cost-allocation-child-row": 4}
    assert got["BilledCost"].to_pylist() == [example.instance_cost, 0, 0, 0, 0]
    rows = got["x_CloudSplit"].to_pylist()[1:]
    assert {s["pod"]: (s["namespace"], s["split_cost"], s["unused_cost"]) for s in rows} == example.pods
    assert {s["parent"] for s in rows} == {example.parent}


def test_the_examples_split_their_parent_with_no_defect_and_nothing_lost(store: LocalStore, example: Example) -> None:
    lines = pa.Table.from_batches(list(read_file(store, KEY, excluded={})), schema=COST)
    rec = Reconciliation(allocation([]), lines, day=DAY.date(), options=Options(allocation_source="auto"))
    try:
        rows, stats = rec.table().to_pylist(), rec.stats()
    finally:
        rec.close()
    # The m5.xlarge example's cent rounding ($1.01 of weights for $1) stays within the 1% parent tolerance.
    assert "cloud_split_mismatched_parents" not in stats and "cloud_split_orphan_rows" not in stats
    for column in COST_COLUMNS:
        assert math.fsum(r[column] for r in rows) == pytest.approx(example.instance_cost, rel=1e-12)


def test_merge_splits_the_examples_instance_to_its_pods_and_unused_to_idle(
    store: LocalStore, example: Example, tmp_path: Path
) -> None:
    assert main(["merge", "--store", str(tmp_path)]) == 0
    got = results.read_days(store, Layout(), results.available_days(store, Layout())).to_pylist()
    assert {r["AllocatedMethodId"] for r in got} == {"aws-split-cost-allocation-data"}
    assert {r["x_K8sCluster"] for r in got} == {"Cluster1"}
    assert math.fsum(r["BilledCost"] for r in got) == pytest.approx(example.instance_cost, rel=1e-12)
    scale = example.instance_cost / example.weights
    pods = {r["x_K8sPod"]: (r["x_K8sNamespace"], r["BilledCost"]) for r in got if r["x_K8sAllocation"] != "idle"}
    assert pods == {pod: (ns, pytest.approx(split * scale, rel=1e-12)) for pod, (ns, split, _) in example.pods.items()}
    idle = [r for r in got if r["x_K8sAllocation"] == "idle"]
    assert [(r["x_K8sNamespace"], r["x_K8sPod"]) for r in idle] == [("__idle__", "__idle__")]
    unused = sum(u for *_, u in example.pods.values())
    assert idle[0]["BilledCost"] == pytest.approx(unused * scale, rel=1e-12)


def test_the_accelerated_examples_pods_get_exactly_their_published_split_costs(tmp_path: Path) -> None:
    """Its split and unused costs add up to the instance's $10, so no scaling: each pod is billed the example's
    split cost and `__idle__` the $0.27 of unused cost."""
    example = EXAMPLES["p3.16xlarge"]
    (tmp_path / KEY).parent.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "data" / example.file, tmp_path / KEY)
    assert main(["merge", "--store", str(tmp_path)]) == 0
    store = LocalStore(tmp_path)
    got = results.read_days(store, Layout(), results.available_days(store, Layout())).to_pylist()
    billed = {r["x_K8sPod"]: r["BilledCost"] for r in got}
    assert billed == pytest.approx({"Pod 1": 1.85, "Pod 2": 3.18, "Pod 3": 2.35, "Pod 4": 2.35, "__idle__": 0.27})
