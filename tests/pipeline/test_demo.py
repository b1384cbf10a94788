"""`kubebill demo` end to end (the README's first command): simulate, export over HTTP, merge, summary, report."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from kubebill import cli
from kubebill.layout import Layout
from kubebill.sinks import results
from kubebill.store.local import LocalStore


@pytest.mark.slow
def test_demo_writes_results_and_report_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for cluster in ("eks-prod-1", "aks-prod-1", "gke-prod-1"):
        assert f"exported {cluster} from its OpenCost API http://127.0.0.1:" in printed
    assert (
        "idle % of cluster" in printed
        and "unallocated % of cluster" in printed
        and "accuracy vs the simulation's ground truth" in printed
    )
    report = out / "report.html"
    assert str(report) in printed and report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    store = LocalStore(out / "store")
    days = results.available_days(store, Layout())
    assert days and str(out / "store" / Layout().result_parquet_key(days[-1])) in printed
    table = results.read_days(store, Layout(), days)
    assert set(pc.unique(table["ProviderName"]).to_pylist()) >= {"AWS", "Microsoft", "Google Cloud"}
    assert {"workload", "idle", "shared", "not_kubernetes"} <= set(table["x_K8sAllocation"].to_pylist())
    # a second run starts clean and gives the same numbers
    first = pc.sum(table["BilledCost"]).as_py()
    assert cli.main(["demo", "--out", str(out)]) == 0
    again = results.read_days(store, Layout(), results.available_days(store, Layout()))
    assert pc.sum(again["BilledCost"]).as_py() == pytest.approx(first, rel=1e-12)
