"""Export layouts: newest complete run per export and period, data waiting for its manifest, Azure pairing, route."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from kubebill.billing import read, route, scan
from kubebill.billing.common import split_children
from kubebill.errors import BillingFormatError
from kubebill.layout import Layout
from kubebill.reconcile import session
from kubebill.schema import COST
from kubebill.store.local import LocalStore
from tests.billing.conftest import raw_rows, raw_sum

CUR = "aws/koku_legacy-cur_test_cur.csv"
PERIOD = "20180601-20180701"


def _put(root: Path, key: str, data: bytes, mtime: int) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def _cur_run(root: Path, external: Path, assembly: str, mtime: int, *, with_data: bool = True) -> None:
    manifest = json.loads((external / "aws/koku_legacy-cur_koku-local-Manifest.json").read_text())
    data_key = f"/koku-local/{PERIOD}/{assembly}/koku-local-1.csv.gz"
    manifest.update(
        assemblyId=assembly,
        reportKeys=[data_key],
        billingPeriod={"start": "20180601T000000.000Z", "end": "20180701T000000.000Z"},
    )
    if with_data:
        _put(root, f"billing/cur{data_key}", gzip.compress((external / CUR).read_bytes()), mtime)
    body = json.dumps(manifest).encode()
    _put(root, f"billing/cur/koku-local/{PERIOD}/{assembly}/koku-local-Manifest.json", body, mtime)
    _put(root, f"billing/cur/koku-local/{PERIOD}/koku-local-Manifest.json", body, mtime)


def test_cur_newest_complete_assembly_wins(external: Path, tmp_path: Path) -> None:
    _cur_run(tmp_path, external, "aaaaaaaa-0000-0000-0000-000000000001", 1_000_000)
    _cur_run(tmp_path, external, "bbbbbbbb-0000-0000-0000-000000000002", 2_000_000)
    store = LocalStore(tmp_path)
    found = scan(store, Layout())
    assert len(found.units) == 1 and not found.rejected
    unit = found.units[0]
    assert unit.format == "aws-cur" and "bbbbbbbb" in unit.parts[0].key
    assert unit.days is not None and unit.days[0] == date(2018, 6, 1) and unit.days[-1] == date(2018, 6, 30)
    skipped = {s.key: s.reason for s in found.skipped}
    assert any("aaaaaaaa" in k and "superseded" in r for k, r in skipped.items())
    rows = pa.Table.from_batches(list(read(store, unit)), schema=COST)
    assert rows.num_rows == 19
    assert route(store, Layout(), unit.parts[0].key).ready


def test_incomplete_newest_run_falls_back_and_data_waits_for_manifest(external: Path, tmp_path: Path) -> None:
    _cur_run(tmp_path, external, "aaaaaaaa-0000-0000-0000-000000000001", 1_000_000)
    _cur_run(tmp_path, external, "cccccccc-0000-0000-0000-000000000003", 3_000_000, with_data=False)
    late = f"billing/cur/koku-local/{PERIOD}/dddddddd-0000-0000-0000-000000000004/koku-local-1.csv.gz"
    _put(tmp_path, late, gzip.compress((external / CUR).read_bytes()), 4_000_000)
    store = LocalStore(tmp_path)
    found = scan(store, Layout())
    assert [u.parts[0].key for u in found.units] == [
        f"billing/cur/koku-local/{PERIOD}/aaaaaaaa-0000-0000-0000-000000000001/koku-local-1.csv.gz"
    ]
    reasons = {s.key: s.reason for s in found.skipped}
    assert reasons[late] == "waiting for manifest"
    assert any(r.startswith("incomplete run") for r in reasons.values())
    waiting = route(store, Layout(), late)
    assert not waiting.ready and waiting.reason == "waiting for manifest"
    manifest = route(store, Layout(), f"billing/cur/koku-local/{PERIOD}/koku-local-Manifest.json")
    assert manifest.ready and len(manifest.days) == 30


def _cur2_table(external: Path) -> pa.Table:
    """The koku CUR rows in CUR 2.0 column names and types, with a resource_tags map and a split row."""
    rows = raw_rows(external / "aws/koku_legacy-cur_2023-06-01_savingsplan.csv")
    n = len(rows)

    def col(name: str) -> list[str]:
        return [r[name] for r in rows]

    start = pa.array([f"{r['lineItem/UsageStartDate']}" for r in rows]).cast(pa.timestamp("s"))
    tags = pa.array([[("user:team", "a"), ("aws:eks:cluster-name", "eks-1")]] * n, pa.map_(pa.string(), pa.string()))
    table = pa.table(
        {
            "line_item_usage_start_date": start,
            "line_item_usage_end_date": pc.add(start, pa.scalar(3600, pa.duration("s"))),
            "line_item_line_item_type": col("lineItem/LineItemType"),
            "line_item_resource_id": col("lineItem/ResourceId"),
            "line_item_unblended_cost": pa.array([float(v) for v in col("lineItem/UnblendedCost")]),
            "pricing_public_on_demand_cost": pa.array([float(v) for v in col("pricing/publicOnDemandCost")]),
            "savings_plan_savings_plan_effective_cost": pa.array(
                [float(v) for v in col("savingsPlan/SavingsPlanEffectiveCost")]
            ),
            "line_item_currency_code": col("lineItem/CurrencyCode"),
            "resource_tags": tags,
            "split_line_item_parent_resource_id": pa.nulls(n, pa.string()),
        }
    )
    split = table.slice(0, 1).to_pylist()[0]
    split.update(
        line_item_resource_id="arn:aws:eks:us-east-1:1:pod/eks-1/ns/p/u",
        line_item_unblended_cost=0.0,
        split_line_item_parent_resource_id="i-99995555",
    )
    return pa.concat_tables([table, pa.Table.from_pylist([split], schema=table.schema)])


def test_cur2_layout_split_rows_and_tags(external: Path, tmp_path: Path) -> None:
    table = _cur2_table(external)
    data = "billing/aws/my-cur2/data/BILLING_PERIOD=2023-06/my-cur2-00001.snappy.parquet"
    (tmp_path / data).parent.mkdir(parents=True)
    pq.write_table(table, tmp_path / data)
    store = LocalStore(tmp_path)
    assert scan(store, Layout()).skipped[0].reason == "waiting for manifest"
    manifest = {
        "executionId": "e1",
        "exportArn": "arn:aws:bcm-data-exports:us-east-1:1:export/my-cur2-x",
        "exportName": "my-cur2",
        "billingPeriod": {"start": "2023-06-01T00:00:00.000Z", "end": "2023-07-01T00:00:00.000Z"},
        "dataFiles": [f"s3://bucket/prefix/{data.removeprefix('billing/aws/')}"],
    }
    _put(
        tmp_path,
        "billing/aws/my-cur2/metadata/BILLING_PERIOD=2023-06/my-cur2-Manifest.json",
        json.dumps(manifest).encode(),
        5,
    )
    found = scan(store, Layout())
    assert len(found.units) == 1 and found.units[0].format == "aws-cur2"
    got = pa.Table.from_batches(list(read(store, found.units[0], days={date(2023, 6, 1)})), schema=COST)
    assert got.num_rows == 4  # the split row is kept as the cloud's split of its parent, never as a bill line
    assert got["x_SourceRowId"].to_pylist() == [0, 1, 2, 3]
    assert pc.sum(split_children(got)).as_py() == 1
    split = got["x_CloudSplit"][3].as_py()
    assert (split["parent"], split["cluster"], split["namespace"], split["pod"]) == ("i-99995555", "eks-1", "ns", "p")
    assert got["x_CloudSplit"][:3].null_count == 3
    lines = got.filter(pc.invert(split_children(got)))
    assert pc.sum(lines["BilledCost"]).as_py() == 30.0 and abs(pc.sum(lines["EffectiveCost"]).as_py() - 0.3) < 1e-12
    assert json.loads(got["Tags"][0].as_py()) == {"user:team": "a", "aws:eks:cluster-name": "eks-1"}
    assert set(got["x_ClusterHint"].to_pylist()) == {"eks-1"}


def _azure_run(
    root: Path, external: Path, kind: str, run: str, mtime: int, *, delivery: dict[str, str] | None = None
) -> str:
    """An Azure export run of the real sample; with `delivery`, its manifest states each blob's byteCount too, as
    Azure's exports of 2023 and later do."""
    name = f"finops-toolkit_EA_{kind}Cost_Small.csv"
    folder = f"billing/exports/{kind.lower()}-export/20230901-20230930/{run}"
    data = (external / "azure" / name).read_bytes()
    _put(root, f"{folder}/part_0_0001.csv", data, mtime)
    blob: dict[str, object] = {"blobName": f"exports/{kind.lower()}-export/20230901-20230930/{run}/part_0_0001.csv"}
    manifest = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": f"{kind.lower()}-export", "type": f"{kind}Cost", "resourceId": "/billing/1"},
        "runInfo": {"runId": run, "startDate": "2023-09-01T00:00:00", "endDate": "2023-09-30T00:00:00"},
        "blobs": [blob],
    }
    if delivery is not None:
        blob |= {"byteCount": len(data), "dataRowCount": data.count(b"\n") - 1}
        manifest["deliveryConfig"] = delivery
    _put(root, f"{folder}/manifest.json", json.dumps(manifest).encode(), mtime)
    return folder


def test_azure_actual_amortized_paired(external: Path, tmp_path: Path) -> None:
    _azure_run(tmp_path, external, "Actual", "run-old", 1_000)
    _azure_run(tmp_path, external, "Actual", "run-new", 2_000)
    _azure_run(tmp_path, external, "Amortized", "run-1", 1_500)
    store = LocalStore(tmp_path)
    found = scan(store, Layout())
    assert len(found.units) == 1, found
    unit = found.units[0]
    assert unit.format == "azure-actual+amortized"
    assert any("run-new" in k for k in unit.keys) and not any("run-old" in k for k in unit.keys)
    assert len(unit.keys) == len(unit.etags) == 4  # two data parts, two manifests
    assert unit.days is not None and len(unit.days) == 30
    got = pa.Table.from_batches(list(read(store, unit, connect=session.connect)), schema=COST)
    actual = raw_rows(external / "azure/finops-toolkit_EA_ActualCost_Small.csv")
    amortized = raw_rows(external / "azure/finops-toolkit_EA_AmortizedCost_Small.csv")
    assert float(raw_sum(actual, "Cost")) == pc.sum(got["BilledCost"]).as_py() or abs(
        Decimal(pc.sum(got["BilledCost"]).as_py()) - raw_sum(actual, "Cost")
    ) < Decimal("1e-9")
    assert abs(Decimal(pc.sum(got["EffectiveCost"]).as_py()) - raw_sum(amortized, "Cost")) < Decimal("1e-9")
    assert max(len(actual), len(amortized)) <= got.num_rows < len(actual) + len(amortized)
    purchase = [r for r in got.to_pylist() if r["ChargeCategory"] == "Purchase"]
    assert purchase and all(r["EffectiveCost"] == 0.0 and r["BilledCost"] > 0 for r in purchase)
    assert set(got["x_BillingFormat"].to_pylist()) == {"azure-actual+amortized"}


def test_an_azure_file_of_another_size_than_its_manifest_says_is_rejected(external: Path, tmp_path: Path) -> None:
    """A blob whose size is not the manifest's byteCount is not the file the run delivered (cut short, rewritten,
    still uploading): the run is rejected, so a merged day keeps its result instead of losing the file's cost."""
    actual = _azure_run(tmp_path, external, "Actual", "run-1", 1_000, delivery={"compressionMode": "None"})
    _azure_run(tmp_path, external, "Amortized", "run-1", 1_000, delivery={"compressionMode": "None"})
    store = LocalStore(tmp_path)
    assert [u.format for u in scan(store, Layout()).units] == ["azure-actual+amortized"]

    data = (tmp_path / actual / "part_0_0001.csv").read_bytes()
    _put(tmp_path, f"{actual}/part_0_0001.csv", data.split(b"\n", 1)[0] + b"\n", 2_000)  # the header alone
    found = scan(store, Layout())
    assert not [k for u in found.units for k in u.keys if k.startswith(actual)]
    reasons = {s.key: s.reason for s in found.rejected}
    assert reasons[f"{actual}/part_0_0001.csv"].endswith(
        f"bytes, expected {len(data)} as the run's manifest {actual}/manifest.json says (byteCount): not the file the"
        " run delivered (cut short, rewritten or still uploading)"
    )
    assert reasons[f"{actual}/manifest.json"].endswith("the run's data files are rejected")


def test_a_compressed_azure_export_is_not_held_to_its_byte_count(external: Path, tmp_path: Path) -> None:
    """A compressed export's byteCount may count the bytes before compression: it is not compared."""
    actual = _azure_run(tmp_path, external, "Actual", "run-1", 1_000, delivery={"compressionMode": "gzip"})
    _azure_run(tmp_path, external, "Amortized", "run-1", 1_000)
    data = (tmp_path / actual / "part_0_0001.csv").read_bytes()
    _put(tmp_path, f"{actual}/part_0_0001.csv", data + b"\n", 1_000)
    assert [u.format for u in scan(LocalStore(tmp_path), Layout()).units] == ["azure-actual+amortized"]


def test_a_bad_export_of_a_pair_fails_with_its_own_error(external: Path, tmp_path: Path) -> None:
    """The exports stream into the pairing's DuckDB session: a reading error inside it still reaches the caller
    as the BillingFormatError naming the file, row and column (the merge records the unit as bad)."""
    _azure_run(tmp_path, external, "Actual", "run-1", 1_000)
    folder = _azure_run(tmp_path, external, "Amortized", "run-1", 1_000)
    rows = list(
        csv.reader(io.StringIO((external / "azure/finops-toolkit_EA_AmortizedCost_Small.csv").read_text("utf-8-sig")))
    )
    rows[2][rows[0].index("Cost")] = "not-a-number"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    _put(tmp_path, f"{folder}/part_0_0001.csv", out.getvalue().encode(), 1_000)
    store = LocalStore(tmp_path)

    with pytest.raises(BillingFormatError, match=r"part_0_0001\.csv"):
        list(read(store, scan(store, Layout()).units[0], connect=session.connect))


def test_self_contained_azure_files_pair_by_name(external: Path, tmp_path: Path) -> None:
    for kind in ("Actual", "Amortized"):
        name = f"finops-toolkit_EA_{kind}Cost_Small.csv"
        shutil.copy(external / "azure" / name, tmp_path / name)
    store = LocalStore(tmp_path)
    found = scan(store, Layout(billing_prefix=""))
    assert [u.format for u in found.units] == ["azure-actual+amortized"]


def test_route_self_contained_reads_days(external: Path, tmp_path: Path) -> None:
    (tmp_path / "billing").mkdir()
    shutil.copy(external / "aks/cost-management-export.csv", tmp_path / "billing/aks.csv")
    text = pacsv.read_csv(external / "focus/FOCUS-Sample-Data_FOCUS-1.0_Oracle_only.csv")
    pq.write_table(text, tmp_path / "billing/focus.parquet")
    store = LocalStore(tmp_path)
    assert route(store, Layout(), "billing/aks.csv").days == [date(2025, 6, 16), date(2025, 6, 17)]
    assert route(store, Layout(), "billing/focus.parquet").ready
    assert route(store, Layout(), "allocations/x.parquet").reason == "not under the billing prefix"


def test_azure_exports_without_manifest_newest_run_per_period(external: Path, tmp_path: Path) -> None:
    """Older Azure exports write one `<export>_<guid>.csv` per run into the period folder and no manifest."""
    folder = "billing/azure/daily-actual/20250601-20250630"
    source = (external / "aks/cost-management-export.csv").read_bytes()
    old = f"{folder}/daily-actual_11111111-2222-3333-4444-555555555555.csv"
    new = f"{folder}/daily-actual_99999999-2222-3333-4444-555555555555.csv"
    _put(tmp_path, old, source, 1_000)
    _put(tmp_path, new, source, 2_000)
    found = scan(LocalStore(tmp_path), Layout())
    assert [u.keys for u in found.units] == [(new,)]
    assert [(s.key, s.reason.startswith("superseded")) for s in found.skipped] == [(old, True)]


def test_the_merge_pairs_azure_exports_on_its_engine_session_under_its_memory_limit(
    external: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readers open no DuckDB session: the merge hands the pairing its own, with KUBEBILL_MEMORY_LIMIT's share
    and KUBEBILL_THREADS."""
    import dataclasses

    from kubebill import pipeline
    from kubebill.settings import Settings

    _azure_run(tmp_path, external, "Actual", "run-1", 1_000)
    _azure_run(tmp_path, external, "Amortized", "run-1", 1_000)
    real = pipeline._Staged.connect
    seen: list[tuple[str, str]] = []

    def spied(self: pipeline._Staged) -> object:
        con = real(self)
        settings = "SELECT current_setting('memory_limit'), current_setting('threads')::VARCHAR"
        seen.append(con.sql(settings).fetchall()[0])
        return con

    monkeypatch.setattr(pipeline._Staged, "connect", spied)
    settings = dataclasses.replace(Settings.from_env({}), memory_limit="500MB", threads=1)
    pipeline.merge(LocalStore(tmp_path), settings)
    assert seen == [(session.duckdb_share("500MB").replace("MiB", ".0 MiB"), "1")]  # 286MiB, as DuckDB shows it
