"""The AKS tool's own test data, end to end: export from a local server replaying the agent's answer, merge with
the real Cost Management export. The AKS tool leaves ~7% of 2025-06-17 `__unallocated__`; kubebill ≤ 1%."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kubebill import pipeline
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore
from tests.sources import replay

DAY = date(2025, 6, 17)
CLUSTER = "akhantimirov-aks"


@pytest.fixture
def agent(external: Path) -> Iterator[str]:
    with replay.aks_agent(external) as url:
        yield url


def test_aks_fixture_conserved_and_at_most_one_percent_unallocated(tmp_path: Path, external: Path, agent: str) -> None:
    store = LocalStore(tmp_path / "store")
    settings = Settings(store=str(tmp_path / "store"))
    pipeline.export(store, settings, days=[DAY], source="aks", url=agent, cluster=CLUSTER)
    bill = (external / "aks" / "cost-management-export.csv").read_bytes()
    store.write("billing/azure/cost-management-export.csv", bill)

    summary = pipeline.merge(store, settings, days=[DAY])
    assert summary.merged == [DAY] and not summary.bad_inputs

    rows = list(csv.DictReader((external / "aks" / "cost-management-export.csv").open(encoding="utf-8-sig")))
    expected = sum(float(r["PreTaxCost"]) for r in rows if r["UsageDateTime"].startswith(DAY.isoformat()))
    table = results.read_day(store, Layout(), DAY)
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(expected, rel=1e-9)
    cluster = table.filter(pc.equal(table["x_K8sCluster"], CLUSTER))
    assert pc.sum(cluster["BilledCost"]).as_py() == pytest.approx(expected, rel=1e-9)  # every line is the cluster's

    def share(kind: str) -> float:
        part = table.filter(pc.equal(table["x_K8sAllocation"], kind))
        return float(pc.sum(part["BilledCost"]).as_py() or 0.0) / expected

    assert share("unallocated") + share("not_kubernetes") <= 0.01
    assert share("workload") > 0.5
    # Defender on VMSS instances follows the VMSS's splits; the OS disk is the cluster's __shared__
    defender = table.filter(pc.match_substring(table["ResourceId"], "virtualMachines/1"))
    assert set(defender["x_K8sAllocation"].to_pylist()) <= {"workload", "idle", "system"}
    assert share("shared") > 0
    ratios = pc.sum(table.filter(pc.equal(table["x_K8sAllocation"], "workload"))["BilledCost"]).as_py()
    assert ratios > 0
