from __future__ import annotations

import pyarrow as pa
import pytest

from kubebill import schema


@pytest.mark.parametrize("declared", [schema.ALLOCATION, schema.COST, schema.RESULT])
def test_every_column_is_documented(declared: pa.Schema) -> None:
    assert all(schema.doc(f) for f in declared)


def test_result_has_the_contract_columns_with_x_columns_last() -> None:
    names = schema.RESULT.names
    for column in (
        "ChargePeriodStart",
        "BilledCost",
        "EffectiveCost",
        "AllocatedMethodDetails",
        "x_K8sAllocation",
    ):
        assert column in names
    first_x = next(i for i, n in enumerate(names) if n.startswith("x_"))
    assert all(n.startswith("x_") for n in names[first_x:])


def test_conform_orders_casts_and_fills() -> None:
    table = pa.table({"BilledCost": pa.array([1], pa.int32()), "ProviderName": ["AWS"]})
    out = schema.conform(table, schema.COST)
    assert out.schema == schema.COST
    assert out.column("BilledCost").to_pylist() == [1.0]
    assert out.column("Tags").null_count == 1


def test_conform_names_the_missing_required_column() -> None:
    with pytest.raises(ValueError, match="'window_start'"):
        schema.conform(pa.table({"cluster": ["a"]}), schema.ALLOCATION)
