"""The cross-check: where an allocation export and the cloud's own split both cover a cluster and day, the merge
writes kubebill's figure against the cloud's per namespace, `kubebill report --compare cloud` shows it and the
metrics carry `kubebill_allocation_source_difference_ratio`."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kubebill import pipeline
from kubebill.cli import main
from kubebill.devtools.simulate import Scenario, simulate
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store.local import LocalStore

DAY = date(2025, 6, 17)


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both sources on both clouds; the export split by AWS's 9:1 weights, so the two differ on EKS."""
    root = tmp_path_factory.mktemp("both")
    simulate(root, Scenario(providers=("aws", "gcp"), nodes=3, pods=10, days=1, end=DAY, cloud_split=True))
    pipeline.merge(LocalStore(root), Settings(store=str(root), split_method="aws-split-cost"))
    return root


def test_the_merge_writes_both_figures_per_namespace_and_they_split_the_same_money(merged: Path) -> None:
    table = pq.read_table(merged / Layout().compare_key(DAY)).to_pylist()
    clusters = {r["cluster"] for r in table}
    assert clusters == {"eks-prod-1", "gke-prod-1"}
    for cluster in clusters:
        rows = [r for r in table if r["cluster"] == cluster]
        assert sum(r["kubebill_cost"] for r in rows) == pytest.approx(sum(r["cloud_cost"] for r in rows))
        for r in rows:
            assert r["difference"] == pytest.approx(r["kubebill_cost"] - r["cloud_cost"])
    assert any(abs(r["difference_ratio"] or 0) > 1e-6 for r in table if r["cluster"] == "eks-prod-1")
    assert "__idle__" in {r["namespace"] for r in table}


def test_report_compare_cloud_shows_money_and_percent(merged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["report", "--store", str(merged), "--compare", "cloud", "--window", DAY.isoformat(), "--format", "csv"]
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert set(rows[0]) == {"day", "cluster", "namespace", "currency", "kubebill", "cloud", "difference",
                            "difference_pct"}  # fmt: skip
    checkout = next(r for r in rows if r["cluster"] == "eks-prod-1" and r["namespace"] == "checkout")
    assert float(checkout["difference"]) == pytest.approx(
        float(checkout["kubebill"]) - float(checkout["cloud"]), abs=0.011
    )
    assert main(["report", "--store", str(merged), "--compare", "cloud", "--window", DAY.isoformat()]) == 0
    assert "kubebill against the cloud's own split" in capsys.readouterr().out


def test_metric_carries_the_difference_ratio_per_namespace(merged: Path) -> None:
    body, _ = metrics.render(LocalStore(merged), Settings(store=str(merged)))
    lines = [line for line in body.decode().splitlines() if line.startswith("kubebill_allocation_source_difference")]
    assert any('cluster="eks-prod-1"' in line and 'namespace="checkout"' in line for line in lines)


def test_no_comparison_where_only_one_source_covers_the_day(tmp_path: Path) -> None:
    simulate(tmp_path, Scenario(providers=("aws",), nodes=2, pods=4, days=1, end=DAY, cloud_split=True,
                                allocations=False))  # fmt: skip
    pipeline.merge(LocalStore(tmp_path), Settings(store=str(tmp_path)))
    assert not (tmp_path / Layout().compare_key(DAY)).exists()


def test_the_cross_check_goes_when_the_export_does(tmp_path: Path) -> None:
    simulate(tmp_path, Scenario(providers=("aws",), nodes=2, pods=4, days=1, end=DAY, cloud_split=True))
    store, settings = LocalStore(tmp_path), Settings(store=str(tmp_path))
    pipeline.merge(store, settings)
    assert (tmp_path / Layout().compare_key(DAY)).exists()
    for export in (tmp_path / "allocations").rglob("*.parquet"):
        export.unlink()
    pipeline.merge(store, settings)
    assert not (tmp_path / Layout().compare_key(DAY)).exists()


def test_a_cross_check_deleted_by_hand_is_written_again_by_the_next_merge(tmp_path: Path) -> None:
    """The report read no cross-check for a day whose file was deleted, and said nothing, until the day's inputs
    changed: the day now merges again, and only that day."""
    simulate(tmp_path, Scenario(providers=("aws",), nodes=2, pods=4, days=1, end=DAY, cloud_split=True))
    store, settings = LocalStore(tmp_path), Settings(store=str(tmp_path))
    pipeline.merge(store, settings)
    key = tmp_path / Layout().compare_key(DAY)
    good = pq.read_table(key)
    key.unlink()

    summary = pipeline.merge(store, settings)

    assert summary.merged == [DAY]
    again = pq.read_table(key).sort_by("namespace").to_pylist()
    assert [r["namespace"] for r in again] == [r["namespace"] for r in good.sort_by("namespace").to_pylist()]
    for row, before in zip(again, good.sort_by("namespace").to_pylist(), strict=True):
        assert row["kubebill_cost"] == pytest.approx(before["kubebill_cost"], rel=1e-12)  # summed in any order
        assert row["cloud_cost"] == pytest.approx(before["cloud_cost"], rel=1e-12)
    assert pipeline.merge(store, settings).merged == []
