"""sources.stored.check_file: an allocation export's non-finite numbers found by row and column, in any batch; large
finite values whose sum overflows are no error."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kubebill.errors import InputError
from kubebill.sources.stored import check_file
from tests.reconcile.tables import alloc_row, allocation

ROWS = 70_000  # more than one of check_file's batches


def _export(tmp_path: Path, column: str, values: dict[int, float]) -> str:
    table = allocation([alloc_row()] * ROWS)
    index = table.schema.get_field_index(column)
    found = table.column(column).to_pylist()
    for row, value in values.items():
        found[row] = value
    path = str(tmp_path / "export.parquet")
    pq.write_table(table.set_column(index, table.schema.field(index), pa.array(found, pa.float64())), path)
    return path


@pytest.mark.parametrize(("row", "value", "shown"), [(3, math.nan, "NaN"), (69_999, -math.inf, "-inf")])
def test_a_non_finite_number_is_named_by_row_and_column(tmp_path: Path, row: int, value: float, shown: str) -> None:
    path = _export(tmp_path, "ram_cost", {row: value})
    with pytest.raises(InputError, match=rf"^c: row {row} column 'ram_cost': expected a finite number, found {shown}$"):
        check_file(path, what="c")


def test_finite_values_whose_sum_overflows_are_accepted(tmp_path: Path) -> None:
    check_file(_export(tmp_path, "cpu_cost", {0: 1e308, 1: 1e308, 70_000 - 1: -1e308}), what="c")
