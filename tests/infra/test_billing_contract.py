"""The CUR 2.0 export Terraform creates has a shape kubebill's billing reader reads (export ↔ reader contract)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill.billing import read_file
from kubebill.billing.detect import detect
from kubebill.schema import COST
from kubebill.store import open_store
from tests.infra.hcl import module

START = datetime(2025, 6, 17, 10, tzinfo=UTC)
END = datetime(2025, 6, 17, 11, tzinfo=UTC)
KEY = "billing/aws/kubebill-cur2/data/BILLING_PERIOD=2025-06/kubebill-cur2-00001.snappy.parquet"
TEXT = {
    "identity_line_item_id": "line-1",
    "identity_time_interval": "2025-06-17T10:00:00Z/2025-06-17T11:00:00Z",
    "bill_payer_account_id": "111111111111",
    "line_item_usage_account_id": "222222222222",
    "line_item_line_item_type": "Usage",
    "line_item_product_code": "AmazonEC2",
    "line_item_usage_type": "BoxUsage:m5.large",
    "line_item_resource_id": "i-0123456789abcdef0",
    "line_item_currency_code": "USD",
    "product_region_code": "us-east-1",
}


def cur2_column(name: str, rows: int) -> pa.Array:
    """A column typed as the CUR 2.0 table dictionary types it (timestamps, doubles, maps, strings)."""
    if name.endswith("_date") and "commitment" not in name:
        value = {"line_item_usage_start_date": START, "line_item_usage_end_date": END}.get(name, START)
        return pa.array([value] * rows, pa.timestamp("ms", tz="UTC"))
    if name in ("product", "resource_tags", "cost_category"):
        entries = {"product": [("product_name", "Amazon Elastic Compute Cloud")], "resource_tags": [("user_team", "a")]}
        return pa.array([entries.get(name, [])] * rows, pa.map_(pa.string(), pa.string()))
    if name == "discount":
        return pa.array([[]] * rows, pa.map_(pa.string(), pa.float64()))
    numeric = ("cost", "amount", "rate", "factor", "fee", "commitment", "usage")
    if any(word in name for word in numeric) and not name.endswith(("_a_r_n", "_type", "_id")):
        return pa.array([0.096 * (i + 1) for i in range(rows)], pa.float64())
    return pa.array([TEXT.get(name)] * rows, pa.string())


def test_the_cur2_query_columns_are_detected_as_cur2() -> None:
    columns = module("aws").locals()["cur2_columns"]
    assert detect(columns, KEY) == "aws-cur2"


def test_a_file_of_the_exported_shape_reads_into_cost_rows(tmp_path: Path) -> None:
    columns = module("aws").locals()["cur2_columns"]
    table = pa.table({name: cur2_column(name, 3) for name in columns})
    (tmp_path / KEY).parent.mkdir(parents=True)
    pq.write_table(table, tmp_path / KEY)

    cost = pa.Table.from_batches(list(read_file(open_store(str(tmp_path)), KEY)))
    assert cost.schema.equals(COST)
    assert cost.num_rows == 3
    assert pc.sum(cost["BilledCost"]).as_py() == pytest.approx(pc.sum(table["line_item_unblended_cost"]).as_py())
    assert set(cost["ResourceId"].to_pylist()) == {"i-0123456789abcdef0"}
    assert set(cost["BillingCurrency"].to_pylist()) == {"USD"}
