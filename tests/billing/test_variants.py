"""Compressed and parquet variants of the real samples read the same; every kind of bad input is named."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from kubebill.billing import read_file, route, scan, stage
from kubebill.billing.runs import Part, Unit
from kubebill.errors import BillingFormatError
from kubebill.layout import Layout
from kubebill.store.local import LocalStore
from tests.billing.conftest import read_table

AKS = "aks/cost-management-export.csv"
CUR = "aws/koku_legacy-cur_2023-06-01_savingsplan.csv"
FOCUS = "focus/FOCUS-Sample-Data_FOCUS-1.0_Microsoft_only.csv"
GCP = "gcp/koku_gcp_detailed_export_2022-08-01.csv"


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.num_rows == b.num_rows
    for column in ("BilledCost", "EffectiveCost", "ListCost", "x_ResourceKey", "ChargePeriodStart", "Tags"):
        assert a[column].to_pylist() == b[column].to_pylist(), column


@pytest.mark.parametrize("key", [AKS, CUR, FOCUS, GCP])
def test_gzip_zip_parquet_variants(external: Path, tmp_path: Path, key: str) -> None:
    source = external / key
    expected = read_table(LocalStore(external), key)
    name = source.stem
    with source.open("rb") as src, gzip.open(tmp_path / f"{name}.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with zipfile.ZipFile(tmp_path / f"{name}.zip", "w") as archive:
        archive.write(source, f"{name}.csv")
    text = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    strings = text.cast(pa.schema([pa.field(f.name, pa.string()) for f in text.schema]))
    pq.write_table(strings, tmp_path / f"{name}.parquet")
    store = LocalStore(tmp_path)
    for variant in (f"{name}.csv.gz", f"{name}.zip", f"{name}.parquet"):
        got = read_table(store, variant)
        _same(got, expected)


def test_gcp_json_lines_nested(tmp_path: Path) -> None:
    """A JSON-lines extract with nested service/resource/labels/credits, as BigQuery exports it."""
    rows = [
        {
            "billing_account_id": "01-AA",
            "service": {"id": "6F81", "description": "Compute Engine"},
            "sku": {"id": "CP-1", "description": "Spot Preemptible E2 Instance Core"},
            "usage_start_time": "2025-06-17T01:00:00Z",
            "usage_end_time": "2025-06-17T02:00:00Z",
            "project": {"id": "proj-1"},
            "labels": [{"key": "goog-k8s-cluster-name", "value": "gke-1"}],
            "system_labels": [{"key": "compute.googleapis.com/machine_spec", "value": "e2-standard-4"}],
            "cost": 1.25,
            "cost_at_list": 1.5,
            "currency": "USD",
            "credits": [{"name": "CUD", "amount": -0.25, "type": "COMMITTED_USAGE_DISCOUNT"}],
            "resource": {
                "name": "gke-gke-1-pool-abc",
                "global_name": "//compute.googleapis.com/projects/p/zones/z/instances/1",
            },
        }
    ]
    import json

    (tmp_path / "gcp.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = read_table(LocalStore(tmp_path), "gcp.jsonl")
    row = table.to_pylist()[0]
    assert row["x_BillingFormat"] == "gcp-detailed"
    assert row["BilledCost"] == pytest.approx(1.0) and row["ListCost"] == 1.5 and row["ContractedCost"] == 1.25
    assert row["x_ResourceKey"] == "gke-gke-1-pool-abc" and row["x_ClusterHint"] == "gke-1"
    assert row["PricingCategory"] == "Dynamic"


# ------------------------------------------------------------------------------------------------ bad input


def _copy(external: Path, tmp_path: Path, key: str) -> Path:
    target = tmp_path / Path(key).name
    shutil.copy(external / key, target)
    return target


def test_truncated_gzip(external: Path, tmp_path: Path) -> None:
    data = gzip.compress((external / "focus/FOCUS-Sample-Data_FOCUS-1.0_AWS_only.csv").read_bytes())
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(BillingFormatError, match=r"cut\.csv\.gz: .*(truncated|corrupt)"):
        list(read_file(LocalStore(tmp_path), "cut.csv.gz"))


def test_wrong_column_count(external: Path, tmp_path: Path) -> None:
    path = _copy(external, tmp_path, AKS)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[5] = lines[5] + ",extra"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        BillingFormatError, match=r"cost-management-export\.csv: row 4 \(line 6\): expected 24 columns, found 25"
    ):
        list(read_file(LocalStore(tmp_path), path.name))


def test_non_numeric_cost(external: Path, tmp_path: Path) -> None:
    path = _copy(external, tmp_path, "azure/opencost-azure-headersets/PayAsYouGo.csv")
    path.write_text(path.read_text().replace(",0.075,", ",zero,"))
    with pytest.raises(
        BillingFormatError, match=r"PayAsYouGo\.csv: row 0 column 'PreTaxCost': expected a number, found 'zero'"
    ):
        list(read_file(LocalStore(tmp_path), path.name))


def test_unknown_header_and_not_an_export(external: Path, tmp_path: Path) -> None:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "people.csv").write_text("name,age\nann,3\n")
    shutil.copy(external / "opencost/opencost-website_export-sample.csv", tmp_path / "billing" / "opencost.csv")
    (tmp_path / "billing" / "notes.txt").write_text("hello")
    shutil.copy(external / AKS, tmp_path / "billing" / "aks.csv")
    store = LocalStore(tmp_path)
    with pytest.raises(
        BillingFormatError, match=r"people\.csv: unknown header set: expected .* found 2 columns \(name, age\)"
    ):
        list(read_file(store, "billing/people.csv"))
    found = scan(store, Layout())
    reasons = {r.key: r.reason for r in found.rejected}
    assert set(reasons) == {"billing/people.csv", "billing/opencost.csv", "billing/notes.txt"}
    assert "unknown header set" in reasons["billing/opencost.csv"]
    assert "not a billing export" in reasons["billing/notes.txt"]
    assert [u.keys for u in found.units] == [("billing/aks.csv",)]
    assert not route(store, Layout(), "billing/people.csv").ready


def test_bad_file_never_sinks_others_and_stage_is_all_or_nothing(external: Path, tmp_path: Path) -> None:
    path = _copy(external, tmp_path, AKS)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[-1] = lines[-1].replace(",USD,", ",USD,").replace("Microsoft.Compute,", "Microsoft.Compute,x,", 1)
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    store = LocalStore(tmp_path)
    good = Unit("azure-actual", "good", None, (Part(path.name, "e", 1, "data", "azure-actual"),))
    bad = Unit("azure-actual", "bad", None, (Part("bad.csv", "e", 1, "data", "azure-actual"),))
    staged = tmp_path / "staged"
    staged.mkdir()
    with pytest.raises(BillingFormatError, match=r"bad\.csv: row 27 \(line 29\): expected 24 columns, found 25"):
        stage(store, bad, staged)
    assert list(staged.iterdir()) == []
    import pyarrow.ipc as ipc

    with ipc.open_file(stage(store, good, staged)) as reader:
        assert reader.read_all().num_rows == 28


def test_days_filter(external: Path) -> None:
    from datetime import date

    store = LocalStore(external)
    table = pa.Table.from_batches(list(read_file(store, AKS, days={date(2025, 6, 17)})))
    assert table.num_rows > 0
    assert {d.date() for d in table["ChargePeriodStart"].to_pylist()} == {date(2025, 6, 17)}
    full = read_table(store, AKS)
    assert table.num_rows < full.num_rows
    assert pc.sum(table["x_SourceRowId"]).as_py() >= 0


def test_gcp_parquet_nested(tmp_path: Path) -> None:
    """The same detailed-export row as nested parquet (structs, label and credit lists) reads the same."""
    rows = [
        {
            "billing_account_id": "01-AA",
            "service": {"id": "6F81", "description": "Compute Engine"},
            "sku": {"id": "CP-1", "description": "E2 Instance Core"},
            "usage_start_time": pa.scalar(1750122000_000000, pa.timestamp("us", tz="UTC")).as_py(),
            "usage_end_time": pa.scalar(1750125600_000000, pa.timestamp("us", tz="UTC")).as_py(),
            "project": {"id": "proj-1"},
            "labels": [{"key": "goog-k8s-cluster-name", "value": "gke-1"}],
            "system_labels": [],
            "cost": 2.0,
            "currency": "USD",
            "credits": [{"name": "SUD", "amount": -0.5, "type": "SUSTAINED_USAGE_DISCOUNT"}],
            "resource": {"name": "gke-gke-1-pool-xyz", "global_name": None},
        }
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "gcp.parquet")
    row = read_table(LocalStore(tmp_path), "gcp.parquet").to_pylist()[0]
    assert row["BilledCost"] == 1.5 and row["ListCost"] == 2.0 and row["PricingCategory"] == "Standard"
    assert row["x_ResourceKey"] == "gke-gke-1-pool-xyz" and row["x_ClusterHint"] == "gke-1"
    assert row["ChargePeriodStart"].isoformat() == "2025-06-17T01:00:00+00:00"


def test_azure_focus_export_vmname_in_sku_details(external: Path, tmp_path: Path) -> None:
    """An Azure FocusCost export: x_SkuDetails.VMName turns the VMSS line into the instance key."""
    source = pacsv.read_csv(external / FOCUS, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = source.cast(pa.schema([pa.field(f.name, pa.string()) for f in source.schema]))
    details = [
        '{"VMName":"aks-secretagent-37798712-vmss_3","VCPUs":2}' if "vmss" in r.lower() else ""
        for r in table["ResourceId"].to_pylist()
    ]
    table = table.append_column("x_SkuDetails", pa.array(details)).append_column(
        "x_ResourceGroupName", pa.array([""] * table.num_rows)
    )
    pacsv.write_csv(table, tmp_path / "focus-cost.csv")
    got = read_table(LocalStore(tmp_path), "focus-cost.csv")
    assert set(got["x_BillingFormat"].to_pylist()) == {"azure-focus"}
    keys = [k for k in got["x_ResourceKey"].to_pylist() if k and "vmss" in k]
    assert keys == [
        "/subscriptions/9ec51cfd-5ca7-4d76-8101-dd0a4abc5674/resourcegroups/mc_analyticsengine_analyticsengine_eastus"
        "/providers/microsoft.compute/virtualmachinescalesets/aks-secretagent-37798712-vmss/virtualmachines/3"
    ]
    row = got.to_pylist()[[k is not None and "vmss" in k for k in got["x_ResourceKey"].to_pylist()].index(True)]
    assert row["x_ClusterHint"] == "analyticsengine"


def test_legacy_cur_parquet_column_names(external: Path, tmp_path: Path) -> None:
    """Legacy CUR in parquet uses snake_case names with one resource_tags_user_* column per tag."""
    text = pacsv.read_csv(external / CUR, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = text.cast(pa.schema([pa.field(f.name, pa.string()) for f in text.schema]))
    import re

    def snake(name: str) -> str:
        category, _, field = name.partition("/")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", category).lower() + "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()

    renamed = table.rename_columns([snake(n) for n in table.column_names]).append_column(
        "resource_tags_user_eks_cluster_name", pa.array(["eks-9"] * table.num_rows)
    )
    pq.write_table(renamed, tmp_path / "legacy.parquet")
    got = read_table(LocalStore(tmp_path), "legacy.parquet")
    assert set(got["x_BillingFormat"].to_pylist()) == {"aws-cur"}
    assert got.num_rows == 3 and pc.sum(got["BilledCost"]).as_py() == 30.0
    assert set(got["x_ClusterHint"].to_pylist()) == {"eks-9"}


def _repeated_payg(external: Path, tmp_path: Path, rows: int, odd_row: int, odd_cost: str) -> Path:
    """The PAYG sample's one line repeated `rows` times, with one line's PreTaxCost text replaced."""
    header, line = (external / "azure/opencost-azure-headersets/PayAsYouGo.csv").read_text().splitlines()[:2]
    assert line.count(",0.075,") == 1
    path = tmp_path / "PayAsYouGo.csv"
    with path.open("w") as out:
        out.write(header + "\n")
        for row in range(rows):
            out.write((line.replace(",0.075,", f",{odd_cost},") if row == odd_row else line) + "\n")
    return path


def test_number_only_python_reads_late_in_the_file(external: Path, tmp_path: Path) -> None:
    # "1_5" is no number to Arrow's cast but is one to Python (15.0): the slow path takes it, in a later batch too
    path = _repeated_payg(external, tmp_path, 110_000, 100_000, "1_5")
    table = read_table(LocalStore(tmp_path), path.name)
    assert table.num_rows == 110_000
    assert table["x_SourceRowId"].to_pylist() == list(range(110_000))
    assert table["BilledCost"][100_000].as_py() == 15.0
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(0.075 * 109_999 + 15.0, rel=1e-12)


def test_non_numeric_cost_late_in_the_file(external: Path, tmp_path: Path) -> None:
    path = _repeated_payg(external, tmp_path, 110_000, 100_000, "zero")
    given: list[int] = []
    with pytest.raises(
        BillingFormatError, match=r"PayAsYouGo\.csv: row 100000 column 'PreTaxCost': expected a number, found 'zero'"
    ):
        for batch in read_file(LocalStore(tmp_path), path.name):
            given.extend(batch["x_SourceRowId"].to_pylist())
    assert given == list(range(len(given)))
