"""The agentless path end to end (the issue's "Done when"): `kubebill simulate --cloud-split --no-allocations`, the
files on a local store and on the S3 / GCS emulators, `kubebill merge`: the node lines reach pods (AWS split cost
allocation data) or namespaces (GKE cost allocation) with exact conservation and within 0.5% of the ground truth
per namespace-day; source selection and a cluster with split cost allocation data on some days only."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill import pipeline
from kubebill.devtools import accuracy
from kubebill.devtools.simulate import GROUND_TRUTH_KEY, Scenario, simulate
from kubebill.devtools.simulate.cloud_split import CLOUD_SPLIT_TRUTH_KEY
from kubebill.layout import Layout
from kubebill.schema import COST_COLUMNS
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store import Store
from kubebill.store.local import LocalStore
from tests.emulators import Backend

END = date(2025, 6, 17)
DAYS = [date(2025, 6, 16), END]
METHOD = {"aws": "aws-split-cost-allocation-data", "gcp": "gke-cost-allocation"}
AGENTLESS = Scenario(providers=("aws",), nodes=3, pods=10, days=2, end=END, cloud_split=True, allocations=False)


def _upload(folder: Path, store: Store) -> None:
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_file() and key.startswith(("billing/", "allocations/")):
            store.write(key, path.read_bytes())


def _merged(store: Store, settings: Settings) -> pa.Table:
    summary = pipeline.merge(store, settings)
    return results.read_days(store, Layout(), summary.merged)


def _sums_per_day(table: pa.Table, day_column: str) -> dict[tuple[date, str], float]:
    grouped = table.group_by(day_column).aggregate([(c, "sum") for c in COST_COLUMNS]).to_pylist()
    return {(row[day_column], c): row[f"{c}_sum"] for row in grouped for c in COST_COLUMNS}


def _check(result: pa.Table, folder: Path, provider: str) -> None:
    """Exact conservation against the truth's day totals; the cloud split's rows against its truth."""
    rows = result.filter(pc.not_equal(result["x_K8sAllocation"], "estimated"))
    rows = rows.append_column("day", pc.cast(rows["ChargePeriodStart"], pa.date32()))
    truth = pq.read_table(folder / GROUND_TRUTH_KEY)
    assert _sums_per_day(rows, "day") == pytest.approx(_sums_per_day(truth, "day"), rel=1e-9, abs=1e-9)
    split = rows.filter(pc.equal(rows["AllocatedMethodId"], METHOD[provider]))
    assert split.num_rows > 0
    compared = accuracy.compare(split, pq.read_table(folder / CLOUD_SPLIT_TRUTH_KEY))
    assert accuracy.failures(compared) == []
    assert {d for d in compared.column("day").to_pylist()} == set(DAYS)
    pods = set(split.filter(pc.equal(split["x_K8sAllocation"], "workload"))["x_K8sPod"].to_pylist())
    assert pods == {None} if provider == "gcp" else None not in pods and len(pods) > 1


@pytest.mark.parametrize(
    ("provider", "backend"), [("aws", "local_env"), ("aws", "s3_env"), ("gcp", "local_env"), ("gcp", "gcs_env")]
)
def test_agentless_merge_reaches_pods_within_half_a_percent_of_the_truth(
    provider: str, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store: Backend = request.getfixturevalue(backend)
    folder = tmp_path / "simulated"
    simulate(folder, dataclasses.replace(AGENTLESS, providers=(provider,)))
    assert not (folder / "allocations").exists()
    _upload(folder, store.store)
    _check(_merged(store.store, Settings(store=store.url)), folder, provider)


def test_source_selection_per_cluster_day_and_the_setting_remerges(tmp_path: Path) -> None:
    simulate(tmp_path, dataclasses.replace(AGENTLESS, allocations=True))
    second = next((tmp_path / "allocations").rglob("day=17/*.parquet"))
    second.unlink()  # the export covers the first day only
    store = LocalStore(tmp_path)
    methods = _node_methods(_merged(store, Settings(store=str(tmp_path))))
    assert methods == {DAYS[0]: {"opencost-list-cost"}, END: {METHOD["aws"]}}  # auto: the export where there is one
    methods = _node_methods(_merged(store, Settings(store=str(tmp_path), allocation_source="cloud")))
    assert methods == {DAYS[0]: {METHOD["aws"]}, END: {METHOD["aws"]}}
    methods = _node_methods(_merged(store, Settings(store=str(tmp_path), allocation_source="export")))
    assert methods == {DAYS[0]: {"opencost-list-cost"}, END: set()}


def _node_methods(result: pa.Table) -> dict[date, set[str]]:
    """The methods that split EC2 instance lines, per day."""
    nodes = result.filter(pc.starts_with(pc.fill_null(result["ResourceId"], ""), "i-"))
    days = pc.cast(nodes["ChargePeriodStart"], pa.date32()).to_pylist()
    out: dict[date, set[str]] = {}
    for day, method in zip(days, nodes["AllocatedMethodId"].to_pylist(), strict=True):
        out.setdefault(day, set())
        if method not in (None, "kubebill-shared"):
            out[day].add(method)
    return out


def test_a_cluster_with_split_cost_allocation_data_on_some_days_only(tmp_path: Path) -> None:
    simulate(tmp_path, AGENTLESS)
    (data,) = (tmp_path / "billing").rglob("*.parquet")
    bill = pq.read_table(data)
    first_day = pc.equal(pc.cast(bill["line_item_usage_start_date"], pa.date32()), pa.scalar(DAYS[0], pa.date32()))
    scad = pc.is_valid(bill["split_line_item_parent_resource_id"])
    pq.write_table(bill.filter(pc.invert(pc.and_(first_day, scad))), data)  # no SCAD rows on the first day
    result = _merged(LocalStore(tmp_path), Settings(store=str(tmp_path)))
    methods = _node_methods(result)
    assert methods[DAYS[0]] == set() and methods[END] == {METHOD["aws"]}
    first = result.filter(pc.equal(pc.cast(result["ChargePeriodStart"], pa.date32()), pa.scalar(DAYS[0], pa.date32())))
    nodes = first.filter(pc.starts_with(pc.fill_null(first["ResourceId"], ""), "i-"))
    assert set(nodes["x_K8sAllocation"].to_pylist()) == {"unallocated"}  # named, kept, never lost
    rows = result.append_column("day", pc.cast(result["ChargePeriodStart"], pa.date32()))
    truth = pq.read_table(tmp_path / GROUND_TRUTH_KEY)
    assert _sums_per_day(rows, "day") == pytest.approx(_sums_per_day(truth, "day"), rel=1e-9, abs=1e-9)
