"""kubebill against the simulator's ground truth, where the bill's prices differ from list (RI, Savings Plans, spot).

Per namespace and day |kubebill − truth| ≤ 0.5% of the namespace's cost, for BilledCost and EffectiveCost.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill import pipeline
from kubebill.devtools import accuracy
from kubebill.devtools.simulate import GROUND_TRUTH_KEY, Scenario, simulate
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore


def merged(tmp_path: Path, scenario: Scenario, settings: Settings | None = None) -> tuple:  # type: ignore[type-arg]
    simulate(tmp_path, scenario)
    store = LocalStore(tmp_path)
    summary = pipeline.merge(store, settings or Settings(store=str(tmp_path)))
    table = results.read_days(store, Layout(), summary.merged)
    return accuracy.compare(table, pq.read_table(tmp_path / GROUND_TRUTH_KEY)), table


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_every_cloud_within_half_a_percent_per_namespace_and_day(tmp_path: Path, provider: str) -> None:
    compared, table = merged(tmp_path, Scenario(providers=(provider,), clusters=2, nodes=5, pods=20, days=2, seed=7))
    assert compared.num_rows >= 2 * 2 * 5  # both clusters, both days, several namespaces
    assert accuracy.failures(compared) == []
    assert accuracy.worst(compared, "BilledCost") < 1e-9
    assert accuracy.worst(compared, "EffectiveCost") < 1e-9
    # the bill's prices are not list: RI/SP/CUD/spot lines make the bill differ from the list price
    assert sum(table["BilledCost"].to_pylist()) != sum(table["ListCost"].to_pylist())
    # the namespace owning the LoadBalancer Service got its LB lines (Azure: the public IP by its
    # k8s-azure-service tag, and the shared `kubernetes` LB); on GCP no line names the cluster, so the
    # Service's LB stays an estimate at OpenCost's list price
    lb = table.filter(pc.equal(table["x_K8sCostComponent"], "load_balancer")).to_pylist()
    assert {r["x_K8sNamespace"] for r in lb} == {"checkout"}
    assert {r["x_K8sAllocation"] for r in lb} == ({"workload"} if provider != "gcp" else {"estimated"})


def test_the_comparison_sees_a_wrong_split(tmp_path: Path) -> None:
    compared, _ = merged(
        tmp_path,
        Scenario(providers=("aws",), days=1, seed=3),
        Settings(store=str(tmp_path), split_method="aws-split-cost"),  # not the truth's weights
    )
    assert accuracy.failures(compared)
