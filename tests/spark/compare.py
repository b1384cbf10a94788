"""Two engines' RESULT tables compared: the same rows by every non-cost column, costs within 1e-9 relative."""

from __future__ import annotations

import math

import pyarrow as pa

from kubebill.schema import RESULT

COSTS = [f.name for f in RESULT if pa.types.is_floating(f.type)]
KEYS = [f.name for f in RESULT if f.name not in COSTS and f.name != "AllocatedMethodDetails"]


def _rows(table: pa.Table) -> list[tuple[tuple[object, ...], tuple[float, ...]]]:
    keys = list(zip(*(table[c].to_pylist() for c in KEYS), strict=True)) if table.num_rows else []
    costs = list(zip(*(table[c].to_pylist() for c in COSTS), strict=True)) if table.num_rows else []
    return sorted(zip(keys, costs, strict=True), key=lambda r: (repr(r[0]), repr(r[1])))


def assert_same_rows(duckdb: pa.Table, spark: pa.Table) -> None:
    assert duckdb.schema == spark.schema == RESULT
    expected, found = _rows(duckdb), _rows(spark)
    assert [k for k, _ in expected] == [k for k, _ in found], "the engines' rows differ in a key column"
    for (key, want), (_, got) in zip(expected, found, strict=True):
        for name, a, b in zip(COSTS, want, got, strict=True):
            same = (a is None and b is None) or (
                a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            )
            assert same, f"{name} of {key}: duckdb {a!r}, spark {b!r}"
