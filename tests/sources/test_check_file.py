"""sources.stored.check_file: an allocation export's non-finite or oversized numbers found by row and column, in any
batch; real large values pass; a file without a row is no export."""

from __future__ import annotations

import math
import re
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


@pytest.mark.parametrize(
    ("column", "values", "row", "shown"),
    [
        # finite, but a day's sum overflows to inf and every ratio of the cluster's lines turns NaN
        ("cpu_cost", {0: 1e308, 1: 1e308, 70_000 - 1: -1e308}, 0, "1e+15, found 1e+308"),
        ("ram_cost", {69_998: -2e15}, 69_998, "1e+15, found -2000000000000000.0"),
        ("ram_byte_hours", {5: 1e300}, 5, "1e+200, found 1e+300"),
    ],
)
def test_a_number_beyond_its_size_is_named_by_row_and_column(
    tmp_path: Path, column: str, values: dict[int, float], row: int, shown: str
) -> None:
    message = rf"^c: row {row} column '{column}': expected a number of at most ±{re.escape(shown)}$"
    with pytest.raises(InputError, match=message):
        check_file(_export(tmp_path, column, values), what="c")


def test_real_large_values_pass(tmp_path: Path) -> None:
    """A 24 TiB node's day in one row, and a cost of 1e14 in every row of a batch (a batch's sum past the bound
    is looked at row by row, not rejected)."""
    check_file(_export(tmp_path, "ram_byte_hours", {r: 24 * 2**40 * 24 for r in range(ROWS)}), what="c")
    check_file(_export(tmp_path, "cpu_cost", {r: 1e14 for r in range(ROWS)}), what="c")


def test_an_export_without_a_row_is_rejected(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.parquet")
    pq.write_table(allocation([]), path)
    with pytest.raises(InputError, match=r"^c: no allocation rows; .* re-export the day$"):
        check_file(path, what="c")
