"""Ground truth conserves the bills: read back independently (pyarrow / csv only), per provider, day and cluster."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill.devtools.simulate import Scenario, Written, simulate
from kubebill.devtools.simulate.model import build_clusters
from kubebill.model import IDLE
from tests.simulate.conftest import SMALL

COSTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
Sums = dict[tuple[str | None, date], list[float]]


def _add(sums: Sums, cluster: str | None, day: date, values: tuple[float, float, float, float]) -> None:
    acc = sums.setdefault((cluster, day), [0.0] * 4)
    for i, v in enumerate(values):
        acc[i] += v


def aws_lines(out: Path, scenario: Scenario = SMALL) -> Sums:
    """CUR 2.0 → the four costs per (cluster the line touches, day), by the documented column mapping."""
    sums: Sums = {}
    arns = {c.arn: c.name for c in build_clusters(scenario, "aws")}
    for path in sorted(out.glob("billing/aws/*/data/BILLING_PERIOD=*/*.parquet")):
        for row in pq.read_table(path).to_pylist():
            kind = row["line_item_line_item_type"]
            billed = row["line_item_unblended_cost"]
            effective = {
                "DiscountedUsage": row["reservation_effective_cost"],
                "SavingsPlanCoveredUsage": row["savings_plan_savings_plan_effective_cost"],
                "SavingsPlanNegation": 0.0,
                "RIFee": 0.0,
                "SavingsPlanRecurringFee": 0.0,
            }.get(kind, billed)
            tags = dict(row["resource_tags"])
            cluster = tags.get("aws_eks_cluster_name") or arns.get(row["line_item_resource_id"])
            day = row["line_item_usage_start_date"].date()
            _add(sums, cluster, day, (billed, effective, row["pricing_public_on_demand_cost"], billed))
    return sums


def azure_lines(out: Path, scenario: Scenario = SMALL) -> Sums:
    """Actual gives BilledCost/ListCost/ContractedCost, Amortized gives EffectiveCost (never both added)."""
    sums: Sums = {}
    groups = {c.node_resource_group.lower(): c.name for c in build_clusters(scenario, "azure")}
    managed = {f"managedclusters/{c.name}": c.name for c in build_clusters(scenario, "azure")}
    for path in sorted(out.glob("billing/azure/exports/*/*/*/part_*.csv")):
        actual = "actual" in path.parts[-4]
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                rid = row["ResourceId"].lower()
                cluster = next((n for g, n in {**groups, **managed}.items() if g in rid), None)
                day = datetime.strptime(row["Date"], "%m/%d/%Y").date()
                cost, qty = float(row["CostInBillingCurrency"]), float(row["Quantity"])
                if actual:
                    values = (cost, 0.0, float(row["PayGPrice"]) * qty, float(row["UnitPrice"]) * qty)
                else:
                    values = (0.0, cost, 0.0, 0.0)
                _add(sums, cluster, day, values)
    return sums


def gcp_lines(out: Path, scenario: Scenario = SMALL) -> Sums:
    """Per cluster by the GKE label: a Service's forwarding rule carries none, so the truth has it outside."""
    sums: Sums = {}
    for path in sorted(out.glob("billing/gcp/*/*/*.parquet")):
        for row in pq.read_table(path).to_pylist():
            labels = {kv["key"]: kv["value"] for kv in row["labels"]}
            cluster = labels.get("goog-k8s-cluster-name")
            net = row["cost"] + sum(c["amount"] for c in row["credits"])
            day = row["usage_start_time"].astimezone(UTC).date()
            _add(sums, cluster, day, (net, net, row["cost_at_list"], row["cost"]))
    return sums


def truth_sums(out: Path, provider: str) -> Sums:
    table = pq.read_table(out / "ground_truth.parquet")
    table = table.filter(pc.equal(table["provider"], provider))
    sums: Sums = {}
    for row in table.to_pylist():
        _add(sums, row["cluster"], row["day"], tuple(row[c] for c in COSTS))  # type: ignore[arg-type]
    return sums


@pytest.mark.parametrize("provider,read", [("aws", aws_lines), ("azure", azure_lines), ("gcp", gcp_lines)])
def test_truth_sums_to_the_bill_per_cluster_and_day(small: tuple[Path, list[Written]], provider: str, read) -> None:  # type: ignore[no-untyped-def]
    out, _ = small
    bill, truth = read(out), truth_sums(out, provider)
    assert set(bill) == set(truth)
    clusters = {c for c, _ in bill if c is not None}
    assert len(clusters) == 2
    for key in bill:
        for i, name in enumerate(COSTS):
            assert math.isclose(truth[key][i], bill[key][i], rel_tol=1e-9, abs_tol=1e-9), (provider, key, name)


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(nodes=1, pods=1, days=1, seed=11, end=date(2025, 3, 1)),
        Scenario(nodes=7, pods=40, days=1, seed=12, end=date(2025, 3, 9)),
    ],
)
def test_truth_conserves_odd_sizes(tmp_path: Path, scenario: Scenario) -> None:
    simulate(tmp_path, scenario)
    for provider, read in (("aws", aws_lines), ("azure", azure_lines), ("gcp", gcp_lines)):
        bill, truth = read(tmp_path, scenario), truth_sums(tmp_path, provider)
        assert set(bill) == set(truth)
        for key in bill:
            for i in range(4):
                assert math.isclose(truth[key][i], bill[key][i], rel_tol=1e-9, abs_tol=1e-9), (provider, key, i)


def test_truth_has_every_kind_and_discounts(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    rows = pq.read_table(out / "ground_truth.parquet").to_pylist()
    kinds = defaultdict(set)
    for row in rows:
        kinds[row["provider"]].add(row["allocation"])
    for provider in ("aws", "azure", "gcp"):
        assert kinds[provider] == {"workload", "idle", "shared", "unmounted", "not_kubernetes"}
    workload = [r for r in rows if r["allocation"] == "workload"]
    assert all(r["namespace"] and r["pod"] and r["cluster"] for r in workload)
    assert all(r["cluster"] is None and r["namespace"] is None for r in rows if r["allocation"] == "not_kubernetes")
    for provider in ("aws", "azure", "gcp"):
        mine = [r for r in workload if r["provider"] == provider]
        assert sum(r["EffectiveCost"] for r in mine) < sum(r["ListCost"] for r in mine)  # commitments and spot
    keys = [(r["provider"], r["cluster"], r["namespace"], r["pod"], r["day"], r["allocation"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_allocated_plus_idle_is_the_node_list_price(small: tuple[Path, list[Written]]) -> None:
    out, _ = small
    prices = {n.name: n.hourly for c in build_clusters(SMALL, "gcp") for n in c.nodes}
    for path in out.glob("allocations/cluster=gke-prod-*/**/opencost.parquet"):
        per_node_hour: dict[tuple[str, datetime], float] = defaultdict(float)
        idle_rows = 0
        for row in pq.read_table(path).to_pylist():
            if row["node"] is None:  # __unmounted__
                continue
            per_node_hour[(row["node"], row["window_start"])] += row["cpu_cost"] + row["ram_cost"]
            idle_rows += row["namespace"] == IDLE
        assert idle_rows == len(per_node_hour)
        for (node, _), total in per_node_hour.items():
            assert math.isclose(total, prices[node], rel_tol=1e-9)
