"""Every real billing sample parses: format, row count, and each cost column equals an independent raw sum."""

from __future__ import annotations

import ast
import math
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kubebill.billing.common import read_header
from kubebill.billing.detect import detect
from kubebill.store.local import LocalStore
from tests.billing.conftest import raw_rows, raw_sum, read_table

FORMATS = {
    "aws/koku_legacy-cur_test_cur.csv": "aws-cur",
    "aws/koku_legacy-cur_2023-06-01_savingsplan.csv": "aws-cur",
    "azure/finops-toolkit_EA_ActualCost_Small.csv": "azure-actual",
    "azure/finops-toolkit_EA_AmortizedCost_Small.csv": "azure-amortized",
    "azure/koku_mca_camelCase_cost-details.csv": "azure-actual",
    "azure/opencost-azure-headersets/BOM.csv": "azure-actual",
    "azure/opencost-azure-headersets/Enterprise.csv": "azure-actual",
    "azure/opencost-azure-headersets/EnterpriseCamel.csv": "azure-actual",
    "azure/opencost-azure-headersets/German.csv": "azure-actual",
    "azure/opencost-azure-headersets/PayAsYouGo.csv": "azure-actual",
    "azure/opencost-azure-headersets/YA.csv": "azure-actual",
    "azure/opencost-azure-headersets/values_MissingBrackets.csv": "azure-actual",
    "azure/opencost-azure-headersets/values_VirtualMachine.csv": "azure-actual",
    "gcp/koku_gcp_detailed_export_2022-08-01.csv": "gcp-detailed",
    "gcp/koku_gcp_standard_export_2020-11.csv": "gcp-standard",
    "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv": "focus",
    "focus/FOCUS-Sample-Data_FOCUS-1.0_AWS_only.csv": "focus",
    "focus/FOCUS-Sample-Data_FOCUS-1.0_Microsoft_only.csv": "focus",
    "focus/FOCUS-Sample-Data_FOCUS-1.0_Oracle_only.csv": "focus",
    "aks/cost-management-export.csv": "azure-actual",
}
AZURE_COST = ("CostInBillingCurrency", "costInBillingCurrency", "costinbillingcurrency", "Cost", "PreTaxCost")


def test_every_sample_is_listed(external: Path) -> None:
    found = {
        str(p.relative_to(external))
        for folder in ("aws", "azure", "gcp", "focus", "aks")
        for p in (external / folder).rglob("*.csv")
    }
    assert found == set(FORMATS)


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_format_detected(external: Path, key: str) -> None:
    store = LocalStore(external)
    assert detect(read_header(store, key), key) == FORMATS[key]


def _close(got: object, want: Decimal) -> None:
    value = float(got or 0.0)  # type: ignore[arg-type]
    assert math.isclose(value, float(want), rel_tol=1e-9, abs_tol=1e-12), (value, want)


def _german(row: dict[str, str]) -> dict[str, str]:
    """Localized `Name (Field)` headers by their field name."""
    return {(k.rsplit("(", 1)[-1].rstrip(")") if k.endswith(")") else k): v for k, v in row.items()}


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_rows_and_cost_sums(external: Path, key: str) -> None:
    store = LocalStore(external)
    table = read_table(store, key)
    rows = [_german(r) for r in raw_rows(external / key)]
    assert table.num_rows == len(rows)
    assert pc.all(pc.equal(table["x_SourceKey"], key)).as_py()
    assert table["x_SourceRowId"].to_pylist() == list(range(len(rows)))
    sums = {c: pc.sum(table[c]).as_py() for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")}
    fmt = FORMATS[key]
    if fmt == "aws-cur":
        _close(sums["BilledCost"], raw_sum(rows, "lineItem/UnblendedCost"))
        _close(sums["ListCost"], raw_sum(rows, "pricing/publicOnDemandCost"))
        effective = sum(
            (
                raw_sum([r], "savingsPlan/SavingsPlanEffectiveCost")
                if r["lineItem/LineItemType"] == "SavingsPlanCoveredUsage"
                else raw_sum([r], "lineItem/UnblendedCost")
            )
            for r in rows
        )
        _close(sums["EffectiveCost"], Decimal(effective))
    elif fmt.startswith("azure"):
        cost = raw_sum(rows, *AZURE_COST)
        _close(sums["BilledCost"], cost)
        _close(sums["EffectiveCost"], cost)
        low = [{k.lower(): v for k, v in r.items()} for r in rows]
        if "paygprice" in low[0] and "quantity" in low[0]:
            listed = sum(Decimal(r["paygprice"] or 0) * Decimal(r["quantity"] or 0) for r in low)
            _close(sums["ListCost"], Decimal(listed))
    elif fmt.startswith("gcp"):
        credits = sum(
            (Decimal(repr(c["amount"])) for r in rows for c in ast.literal_eval(r["credits"] or "[]")), Decimal(0)
        )
        _close(sums["BilledCost"], raw_sum(rows, "cost") + credits)
        _close(sums["ContractedCost"], raw_sum(rows, "cost"))
        _close(sums["ListCost"], raw_sum(rows, "cost"))
    else:
        for column in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
            _close(sums[column], raw_sum(rows, column))
    assert table["ChargePeriodStart"].null_count == 0


def test_aws_savings_plan_lines(external: Path) -> None:
    table = read_table(LocalStore(external), "aws/koku_legacy-cur_2023-06-01_savingsplan.csv")
    assert set(table["PricingCategory"].to_pylist()) == {"Committed"}
    assert set(table["CommitmentDiscountType"].to_pylist()) == {"Savings Plan"}
    assert set(table["x_ResourceKey"].to_pylist()) == {"i-99995555"}


def test_azure_vmss_instance_from_vmname(external: Path) -> None:
    """aks/cost-management-export.csv: VMSS lines + VMName become the instance path its Defender lines carry."""
    table = read_table(LocalStore(external), "aks/cost-management-export.csv")
    keys = table["x_ResourceKey"].to_pylist()
    ids = table["ResourceId"].to_pylist()
    base = (
        "/subscriptions/82acd5bb-4206-47d4-9c12-a65db028483d/resourcegroups/mc_akhantimirov_akhantimirov-aks_westus3"
        "/providers/microsoft.compute/virtualmachinescalesets/aks-nodepool1-37076539-vmss"
    )
    rebuilt = {k for k, r in zip(keys, ids, strict=True) if r.lower() == base}
    defender = {k for k, r in zip(keys, ids, strict=True) if "/virtualMachines/" in r}
    assert rebuilt == {f"{base}/virtualmachines/0", f"{base}/virtualmachines/1"}
    assert defender <= rebuilt
    assert set(table["x_ClusterHint"].to_pylist()) == {"akhantimirov-aks"}
    assert str(table["ChargePeriodStart"][0].as_py().tzinfo) == "UTC"


def test_azure_tags_with_and_without_braces(external: Path) -> None:
    store = LocalStore(external)
    a = read_table(store, "azure/opencost-azure-headersets/values_MissingBrackets.csv")
    b = read_table(store, "azure/opencost-azure-headersets/values_VirtualMachine.csv")
    assert a["Tags"].to_pylist() == b["Tags"].to_pylist()
    assert a["x_ResourceKey"].to_pylist() == b["x_ResourceKey"].to_pylist()
    assert a["x_ResourceKey"][0].as_py().endswith("/aks-nodepool1-12345678-vmss/virtualmachines/0")


def test_ea_dates_and_pricing(external: Path) -> None:
    table = read_table(LocalStore(external), "azure/finops-toolkit_EA_AmortizedCost_Small.csv")
    assert {d.month for d in table["ChargePeriodStart"].to_pylist()} == {9}
    assert "Committed" in table["PricingCategory"].to_pylist()
    assert "analyticsengine" in table["x_ClusterHint"].to_pylist()


def test_focus_sample_quirks(external: Path) -> None:
    table = read_table(LocalStore(external), "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv")
    assert "NULL" not in table["CommitmentDiscountId"].to_pylist()
    assert set(table["ProviderName"].to_pylist()) == {"AWS", "Microsoft", "Oracle"}
    assert table["ChargePeriodStart"][0].as_py().isoformat() == "2024-09-18T22:00:00+00:00"


def test_gcp_labels_and_keys(external: Path) -> None:
    table = read_table(LocalStore(external), "gcp/koku_gcp_detailed_export_2022-08-01.csv")
    assert set(table["x_ResourceKey"].to_pylist()) >= {"instance-1"}
    standard = read_table(LocalStore(external), "gcp/koku_gcp_standard_export_2020-11.csv")
    assert any(t and "goog-resource-type" in t for t in standard["Tags"].to_pylist())
