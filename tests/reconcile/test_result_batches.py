"""reconcile.spark_rows.result_batches on parts laid out as Spark writes them (a folder of part files beside
`_SUCCESS` and `.crc` files), with the types a Parquet writer may give (large_string, timestamps without a zone):
exactly RESULT's batches, and a part that is not the result's named with its column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kubebill.reconcile import rows
from kubebill.reconcile.engine import reconcile
from kubebill.reconcile.spark_rows import result_batches
from kubebill.schema import RESULT
from tests.reconcile.tables import DAY
from tests.reconcile.test_result_sql import scenarios


def _as_another_writer(table: pa.Table) -> pa.Table:
    """`table` with large strings and zone-less timestamps, its columns in another order."""

    def other(type_: pa.DataType) -> pa.DataType:
        if type_ == pa.string():
            return pa.large_string()
        return pa.timestamp("us") if pa.types.is_timestamp(type_) else type_

    fields = [pa.field(f.name, other(f.type)) for f in reversed(list(RESULT))]
    return pa.table([table[f.name].cast(f.type) for f in fields], schema=pa.schema(fields))


def test_spark_laid_out_parts_come_back_as_result_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "ROW_GROUP", 4)
    a, c, options = scenarios()["every-rule-policies"]
    expected = reconcile(a, c, day=DAY.date(), options=options)
    folder = tmp_path / "parts"
    folder.mkdir()
    other = _as_another_writer(expected)
    for i, (start, length) in enumerate([(0, 5), (5, 0), (5, 9), (14, expected.num_rows - 14)]):
        pq.write_table(other.slice(start, length), folder / f"part-{i:05d}-x.snappy.parquet", row_group_size=3)
        (folder / f".part-{i:05d}-x.snappy.parquet.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    batches = list(result_batches([str(folder)]))
    assert [b.num_rows for b in batches] == [4] * (expected.num_rows // 4) + (
        [expected.num_rows % 4] if expected.num_rows % 4 else []
    )
    assert all(b.schema.equals(RESULT) and [c.type for c in b.columns] == RESULT.types for b in batches)
    assert pa.Table.from_batches(batches).equals(expected)


def test_a_part_missing_a_result_column_is_named(tmp_path: Path) -> None:
    a, c, options = scenarios()["every-rule"]
    table = reconcile(a, c, day=DAY.date(), options=options).drop_columns(["x_K8sPod"])
    pq.write_table(table, tmp_path / "part-0.parquet")
    with pytest.raises(ValueError, match=r"part-0\.parquet: expected the RESULT column 'x_K8sPod'"):
        list(result_batches([str(tmp_path / "part-0.parquet")]))
    with pytest.raises(ValueError, match=r"nothing: no Spark-written result parts there"):
        list(result_batches([str(tmp_path / "nothing")]))
