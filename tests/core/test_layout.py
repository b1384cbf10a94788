from __future__ import annotations

from datetime import date

import pytest

from kubebill.layout import Kind, Layout


def test_allocation_key_round_trips() -> None:
    layout = Layout()
    key = layout.allocation_key("prod-eu", date(2025, 6, 7), "opencost")
    assert key == "allocations/cluster=prod-eu/year=2025/month=06/day=07/opencost.parquet"
    parsed = layout.parse(key)
    assert (parsed.kind, parsed.cluster, parsed.day, parsed.source) == (
        Kind.ALLOCATION,
        "prod-eu",
        date(2025, 6, 7),
        "opencost",
    )


def test_results_and_state_are_never_inputs() -> None:
    layout = Layout()
    assert layout.parse(layout.result_parquet_key(date(2025, 1, 2))).kind is Kind.RESULT
    assert layout.parse(layout.result_parquet_key(date(2025, 1, 2))).day == date(2025, 1, 2)
    assert layout.parse(layout.result_csv_key(2025, 1)).kind is Kind.RESULT
    assert layout.parse(layout.state_key("merge/2025-01-02.json")).kind is Kind.STATE
    assert not layout.is_input(layout.result_csv_key(2025, 1))


def test_configurable_prefixes() -> None:
    layout = Layout("k8s/alloc", "bills", "out")
    assert layout.parse("bills/aws/cur/x.parquet").kind is Kind.BILLING
    assert layout.parse("k8s/alloc/cluster=a/year=2025/month=12/day=31/aks.parquet").day == date(2025, 12, 31)
    assert layout.parse("billing/x.csv").kind is Kind.OTHER
    assert layout.result_parquet_key(date(2025, 3, 4)) == "out/parquet/year=2025/month=03/day=04/result.parquet"


@pytest.mark.parametrize(
    "key",
    [
        "allocations/cluster=a/year=2025/month=13/day=01/opencost.parquet",
        "allocations/cluster=a/year=2025/month=1/day=01/opencost.parquet",
        "allocations/readme.txt",
    ],
)
def test_malformed_allocation_keys_are_other(key: str) -> None:
    assert Layout().parse(key).kind is Kind.OTHER


def test_cluster_names_that_break_partitions_are_refused() -> None:
    with pytest.raises(ValueError, match="partition"):
        Layout().allocation_key("a/b", date(2025, 1, 1), "opencost")
