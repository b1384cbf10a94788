"""The files land at the exact native keys, with the layouts and headers the clouds write."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.devtools.simulate import Written
from kubebill.layout import Kind, Layout
from kubebill.schema import ALLOCATION, conform
from tests.simulate.conftest import SMALL

CUR2 = "billing/aws/kubebill-sim-cur2"


def keys(written: list[Written]) -> set[str]:
    return {w.key for w in written}


def test_every_written_file_exists_and_counts_its_rows(small: tuple[Path, list[Written]]) -> None:
    out, written = small
    for item in written:
        path = out / item.key
        assert path.is_file(), item.key
        if item.key.endswith(".parquet"):
            assert pq.read_metadata(path).num_rows == item.rows, item.key
        elif item.key.endswith(".csv"):
            with open(path, encoding="utf-8-sig", newline="") as f:
                assert sum(1 for _ in csv.reader(f)) - 1 == item.rows, item.key


def test_aws_cur2_keys_and_manifest(small: tuple[Path, list[Written]]) -> None:
    out, written = small
    for period in ("2025-06", "2025-07"):
        data = f"{CUR2}/data/BILLING_PERIOD={period}/kubebill-sim-cur2-00001.snappy.parquet"
        manifest = f"{CUR2}/metadata/BILLING_PERIOD={period}/kubebill-sim-cur2-Manifest.json"
        assert {data, manifest} <= keys(written)
        doc = json.loads((out / manifest).read_text())
        assert doc["billingPeriod"]["start"].startswith(f"{period}-01T00:00:00")
        assert [d.split("/", 3)[3] for d in doc["dataFiles"]] == [data.removeprefix("billing/aws/")]
        assert [c["name"] for c in doc["schema"]] == pq.read_schema(out / data).names
        assert doc["totalRowCount"] == pq.read_metadata(out / data).num_rows
    schema = pq.read_schema(out / f"{CUR2}/data/BILLING_PERIOD=2025-06/kubebill-sim-cur2-00001.snappy.parquet")
    for name in (
        "line_item_usage_start_date",
        "line_item_resource_id",
        "line_item_unblended_cost",
        "pricing_public_on_demand_cost",
        "reservation_effective_cost",
        "savings_plan_savings_plan_effective_cost",
        "line_item_line_item_type",
    ):
        assert name in schema.names
    for name in ("resource_tags", "product"):
        type_ = schema.field(name).type
        assert pa.types.is_map(type_) and type_.key_type == type_.item_type == pa.string()


def test_aws_line_types_and_provider_ids(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    table = pq.read_table(out / f"{CUR2}/data/BILLING_PERIOD=2025-06/kubebill-sim-cur2-00001.snappy.parquet")
    types = set(table["line_item_line_item_type"].to_pylist())
    assert {
        "Usage",
        "DiscountedUsage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "Tax",
        "Credit",
        "RIFee",
        "Fee",
        "SavingsPlanRecurringFee",
    } <= types
    usage = set(table["line_item_usage_type"].to_pylist())
    assert {
        "USE1-AmazonEKS-Hours:perCluster",
        "NatGateway-Hours",
        "EBS:VolumeUsage.gp3",
        "InstanceUsage:db.m5.large",
    } <= usage
    assert any(u.startswith("SpotUsage:") for u in usage)
    alloc = pq.read_table(out / Layout().allocation_key("eks-prod-1", SMALL.end, "opencost"))
    ids = {p for p in alloc["provider_id"].to_pylist() if p is not None}  # __unmounted__ has no node
    assert all(p.startswith("aws:///us-east-1a/i-0") for p in ids)
    billed = set(table["line_item_resource_id"].to_pylist())
    assert {p.rsplit("/", 1)[1] for p in ids} <= billed


def test_azure_export_runs(small: tuple[Path, list[Written]], external: Path) -> None:
    out, written = small
    manifests = sorted(k for k in keys(written) if k.startswith("billing/azure/") and k.endswith("manifest.json"))
    assert len(manifests) == 4  # actual + amortized × two months
    with open(external / "azure/opencost-azure-headersets/Enterprise.csv", encoding="utf-8-sig") as f:
        enterprise = next(csv.reader(f))
    for key in manifests:
        parts = key.split("/")
        assert parts[:3] == ["billing", "azure", "exports"] and parts[3] in (
            "kubebill-sim-actual",
            "kubebill-sim-amortized",
        )
        assert len(parts[4]) == 17 and parts[4][8] == "-"  # YYYYMMDD-YYYYMMDD
        doc = json.loads((out / key).read_text())
        assert doc["exportConfig"]["type"] == ("ActualCost" if "actual" in parts[3] else "AmortizedCost")
        assert doc["blobCount"] == len(doc["blobs"]) == 1
        blob = out / "billing" / doc["blobs"][0]["blobName"]
        assert blob.parent == (out / key).parent and blob.name == "part_0_0001.csv"
        assert doc["blobs"][0]["byteCount"] == blob.stat().st_size
        raw = blob.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, as the EA exports in the samples
        with open(blob, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        assert doc["dataRowCount"] == len(rows)
        assert list(rows[0])[: len(enterprise)] == enterprise  # the real EA PascalCase header, then benefit*
        vms = [r for r in rows if r["MeterCategory"] == "Virtual Machines" and r["ChargeType"] == "Usage"]
        assert vms and all(json.loads(r["AdditionalInfo"])["VMName"].startswith("aks-") for r in vms)
        assert {r["PricingModel"] for r in vms} == {"OnDemand", "Spot", "Reservation", "SavingsPlan"}
        assert all(len(r["Date"]) == 10 and r["Date"][2] == "/" for r in rows)
        defender = [r for r in rows if r["MeterCategory"] == "Microsoft Defender for Cloud"]
        assert defender and all("/virtualMachines/" in r["ResourceId"] for r in defender)
        pv = [r for r in rows if "kubernetes.io-created-for-pvc-name" in r["Tags"]]
        assert len(pv) == 2 * 3  # 3 PV disks per cluster, 2 clusters, one day per month here
        purchases = [r for r in rows if r["ChargeType"] == "Purchase"]
        assert bool(purchases) == ("actual" in parts[3])


def test_azure_vmss_instance_matches_provider_id(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    alloc = pq.read_table(out / Layout().allocation_key("aks-prod-1", SMALL.end, "opencost"))
    for pid in set(alloc["provider_id"].drop_null().to_pylist()):
        assert pid.startswith("azure:///subscriptions/")
        assert "/resourceGroups/mc_rg-aks-prod-1_aks-prod-1_eastus/" in pid
        assert "/virtualMachineScaleSets/aks-" in pid and pid.rsplit("/", 2)[1] == "virtualMachines"


def test_gcp_daily_parquet(small: tuple[Path, list[Written]]) -> None:
    out, written = small
    for day in SMALL.day_list:
        key = f"billing/gcp/billing_export/{day.isoformat()}/000000000000.parquet"
        assert key in keys(written)
        table = pq.read_table(out / key)
        flat = table.flatten()
        for name in (
            "usage_start_time",
            "usage_end_time",
            "project.id",
            "service.description",
            "sku.id",
            "sku.description",
            "resource.name",
            "resource.global_name",
            "labels",
            "system_labels",
            "cost",
            "credits",
            "cost_at_list",
            "currency",
        ):
            assert name in flat.column_names, name
        rows = table.to_pylist()
        vms = [r for r in rows if r["sku"]["description"].startswith("N2 Instance")]
        assert all(
            {"key": "goog-k8s-cluster-name", "value": "gke-prod-1"} in r["labels"]
            or {"key": "goog-k8s-cluster-name", "value": "gke-prod-2"} in r["labels"]
            for r in vms
        )
        credit_types = {c["type"] for r in rows for c in r["credits"]}
        assert credit_types == {"COMMITTED_USAGE_DISCOUNT", "SUSTAINED_USAGE_DISCOUNT"}
        assert any(r["service"]["description"] == "Kubernetes Engine" for r in rows)
        assert any(r["cost_type"] == "tax" for r in rows)
    alloc = pq.read_table(out / Layout().allocation_key("gke-prod-1", SMALL.end, "opencost"))
    for pid in set(alloc["provider_id"].drop_null().to_pylist()):
        assert pid.startswith("gce://") and "/us-central1-a/gke-gke-prod-1-" in pid


def test_allocation_files_conform_exactly(small: tuple[Path, list[Written]]) -> None:
    out, written = small
    layout = Layout()
    allocation_keys = [w.key for w in written if w.key.startswith("allocations/")]
    assert len(allocation_keys) == 3 * 2 * 2
    partial_minutes = 0
    for key in allocation_keys:
        parsed = layout.parse(key)
        assert parsed.kind is Kind.ALLOCATION and parsed.source == "opencost"
        table = pq.read_table(out / key)
        assert table.schema.equals(ALLOCATION), key  # names, types, nullability, order
        assert [f.metadata for f in table.schema] == [f.metadata for f in ALLOCATION]  # the column docs too
        assert conform(table, ALLOCATION).equals(table)
        rows = table.to_pylist()
        idle = [r for r in rows if r["namespace"] == "__idle__"]
        nodes = {r["node"] for r in rows} - {None}
        unmounted = [r for r in rows if r["namespace"] == "__unmounted__"]
        assert len(unmounted) == 24 and all(r["node"] is None and r["pv_cost"] > 0 and r["pvs"] for r in unmounted)
        assert len(idle) == 24 * len(nodes)  # one __idle__ row per node per hour
        assert all(r["pod"] == "__idle__" and r["cpu_cost"] > 0 and r["ram_cost"] > 0 for r in idle)
        assert {r["window_start"].hour for r in rows} == set(range(24))
        assert all(r["minutes"] <= 60 and (r["window_end"] - r["window_start"]).seconds == 3600 for r in rows)
        assert any(r["pvs"] for r in rows) and any(r["load_balancers"] for r in rows)
        partial_minutes += sum(1 for r in rows if 0 < r["minutes"] < 60)
    assert partial_minutes > 0  # pods start and stop within the days
