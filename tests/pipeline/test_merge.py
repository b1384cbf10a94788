"""pipeline.merge on a real local store: results at the layout keys, state, idempotence, bad inputs, health."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kubebill import health, pipeline
from kubebill.errors import InputError
from kubebill.ledger import LedgerStore
from kubebill.settings import Settings
from kubebill.sinks import results
from tests.pipeline.merge_inputs import DAY, LAYOUT, focus_csv, make_store, parquet_bytes
from tests.reconcile.tables import alloc_row, allocation

SETTINGS = Settings()


def test_merge_writes_the_day_and_month_and_sums_to_the_bill(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    summary = pipeline.merge(store, Settings(result_csv="month"), days=[DAY])
    assert summary.merged == [DAY] and not summary.bad_inputs
    table = results.read_day(store, LAYOUT, DAY)
    assert summary.rows == table.num_rows
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(24 * 0.5 + 3.0, rel=1e-12)
    web = table.filter(pc.equal(table["x_K8sNamespace"], "web"))
    assert pc.sum(web["BilledCost"]).as_py() == pytest.approx(24 * 0.5 * 2 / 5)
    month = list(csv.DictReader(io.StringIO(store.read_bytes(LAYOUT.result_csv_key(2025, 6)).decode())))
    assert len(month) == table.num_rows
    assert sum(float(r["BilledCost"]) for r in month) == pytest.approx(15.0)
    state = json.loads(store.read_bytes(LAYOUT.state_key("merge/2025-06-17.json")))
    assert {k for k, _ in state["inputs"]} == {
        LAYOUT.allocation_key("c1", DAY, "opencost"),
        "billing/focus/2025-06.csv",
    }
    record = health.read(store, LAYOUT)
    assert record["last_merge_success"] is True and record["merges_total"] == 1
    assert record["last_merge_rows"] == table.num_rows


def test_remerge_with_unchanged_inputs_writes_nothing(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    pipeline.merge(store, SETTINGS, days=[DAY])
    before = {i.key: i.etag for i in store.list(LAYOUT.results_prefix + "/") if "health" not in i.key}
    again = pipeline.merge(store, SETTINGS, days=[DAY])
    assert again.merged == [] and again.unchanged == [DAY]
    after = {i.key: i.etag for i in store.list(LAYOUT.results_prefix + "/") if "health" not in i.key}
    assert after == before
    assert pipeline.merge(store, SETTINGS).days == []  # default: only days whose inputs changed


def test_changed_bill_remerges_only_its_day(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    pipeline.merge(store, SETTINGS, days=[DAY])
    store.write("billing/focus/2025-06.csv", focus_csv([("i-0001", 2.0, 3)]))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [DAY]
    table = results.read_day(store, LAYOUT, DAY)
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(2.0)
    assert set(table["x_K8sAllocation"].to_pylist()) == {"workload", "idle", "estimated"}


def test_day_without_bill_is_estimated_then_replaced(tmp_path: Path) -> None:
    store = make_store(tmp_path, bill=False)
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [DAY]
    table = results.read_day(store, LAYOUT, DAY)
    assert set(table["x_K8sAllocation"].to_pylist()) == {"estimated"}
    assert pc.sum(table["ListCost"]).as_py() == pytest.approx(24 * 5.0)
    assert pc.sum(table["BilledCost"]).as_py() == 0
    store.write("billing/focus/2025-06.csv", focus_csv([("i-0001", 0.5, h) for h in range(24)]))
    pipeline.merge(store, SETTINGS)
    table = results.read_day(store, LAYOUT, DAY)
    assert "estimated" not in set(table["x_K8sAllocation"].to_pylist())


def test_bad_billing_file_is_recorded_and_the_rest_merged(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.write("billing/focus/broken.csv", b"BilledCost,ChargePeriodStart,EffectiveCost\nnot-a-number,2025-06-17,1\n")
    summary = pipeline.merge(store, SETTINGS, days=[DAY])
    assert "billing/focus/broken.csv" in summary.bad_inputs
    assert summary.merged == [DAY]
    table = results.read_day(store, LAYOUT, DAY)
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(15.0)
    record = health.read(store, LAYOUT)
    assert record["bad_inputs_total"] >= 1 and record["last_merge_success"] is True


def test_older_allocation_schema_is_read_when_it_can_be(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    old = allocation([alloc_row(namespace="web", cluster="c2", node="n9", provider_id="i-0009")])
    old = old.drop_columns(["fraction", "split_bucket", "load_balancers", "cpu_efficiency"])
    store.write(LAYOUT.allocation_key("c2", DAY, "opencost"), parquet_bytes(old))
    assert pipeline.merge(store, SETTINGS, days=[DAY]).merged == [DAY]
    assert "c2" in set(results.read_day(store, LAYOUT, DAY)["x_K8sCluster"].to_pylist())


def test_incompatible_allocation_export_is_rejected_naming_the_column_and_the_day_still_merges(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    old = allocation([alloc_row(cluster="c2", node="n9", provider_id="i-0009")])
    old = old.drop_columns(["window_start"]).append_column("start", old["window_start"])
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    store.write(key, parquet_bytes(old))
    summary = pipeline.merge(store, SETTINGS, days=[DAY])
    assert summary.merged == [DAY] and summary.bad_inputs == [key] and summary.unallocated == [key]
    entry = LedgerStore(store, LAYOUT).load()[0].entries[key]
    assert entry.state == "rejected" and "missing column 'window_start'" in entry.reason
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["BilledCost"]).as_py() == pytest.approx(15.0)
    labels = allocation([alloc_row(cluster="c2", node="n9", provider_id="i-0009")])
    labels = labels.set_column(labels.schema.get_field_index("labels"), "labels", pa.array([{"a": "b"}]))
    store.write(key, parquet_bytes(labels))
    pipeline.merge(store, SETTINGS, days=[DAY])
    assert "column 'labels' is struct" in LedgerStore(store, LAYOUT).load()[0].entries[key].reason
    assert health.read(store, LAYOUT)["last_merge_success"] is True


def test_a_rejected_export_replacing_a_merged_one_keeps_the_day_and_not_the_others(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    after = DAY + timedelta(days=1)
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    store.write(key, parquet_bytes(allocation([alloc_row(cluster="c2", node="n9", provider_id="i-0009")])))
    pipeline.merge(store, SETTINGS, days=[DAY])
    kept = store.head(LAYOUT.result_parquet_key(DAY)).etag
    next_day = allocation([alloc_row(start=24 + h) for h in range(24)])
    store.write(LAYOUT.allocation_key("c1", after, "opencost"), parquet_bytes(next_day))
    broken = allocation([alloc_row(cluster="c2", node="n9", provider_id="i-0009")])
    store.write(key, parquet_bytes(broken.drop_columns(["window_start"])))
    with pytest.raises(InputError, match=r"^2025-06-17: .*cluster=c2.*missing column 'window_start'.*1 other day"):
        pipeline.merge(store, SETTINGS, days=[DAY, after])
    assert list(results.available_days(store, LAYOUT)) == [DAY, after]
    assert store.head(LAYOUT.result_parquet_key(DAY)).etag == kept
    assert health.read(store, LAYOUT)["last_merge_success"] is False


def test_a_rejected_bill_replacing_a_merged_one_keeps_the_day_and_its_money(tmp_path: Path) -> None:
    """A bill file merged into a day, then re-delivered broken: merging without it would drop its money from the
    day. The day keeps its last result until the file is good again, or deleted (the user's act)."""
    store = make_store(tmp_path)
    pipeline.merge(store, SETTINGS, days=[DAY])
    kept = store.head(LAYOUT.result_parquet_key(DAY)).etag
    billed = pc.sum(results.read_day(store, LAYOUT, DAY)["BilledCost"]).as_py()
    assert billed == pytest.approx(15.0)
    good = store.read_bytes("billing/focus/2025-06.csv")
    store.write("billing/focus/2025-06.csv", good.replace(b",0.5,", b",0.5x,", 1))
    with pytest.raises(
        InputError,
        match=r"^2025-06-17: a rejected input replaces one already merged, the day keeps its result: "
        r"billing/focus/2025-06.csv: row 0 column '\w+': expected a number, found '0.5x'",
    ):
        pipeline.merge(store, SETTINGS, days=[DAY])
    assert store.head(LAYOUT.result_parquet_key(DAY)).etag == kept
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["BilledCost"]).as_py() == billed
    assert health.read(store, LAYOUT)["last_merge_success"] is False
    store.write("billing/focus/2025-06.csv", good)  # good again
    again = pipeline.merge(store, SETTINGS, days=[DAY])
    assert not again.bad_inputs
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["BilledCost"]).as_py() == pytest.approx(billed, rel=1e-12)
    store.write("billing/focus/2025-06.csv", b"BilledCost,ChargePeriodStart\nx,2025-06-17\n")
    with pytest.raises(InputError, match="the day keeps its result"):
        pipeline.merge(store, SETTINGS, days=[DAY])
    store.delete("billing/focus/2025-06.csv")  # deleted: the day merges without it
    gone = pipeline.merge(store, SETTINGS, days=[DAY])
    assert gone.merged == [DAY] and not gone.bad_inputs
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["BilledCost"]).as_py() == 0.0


def test_two_exports_of_one_cluster_day_the_newest_counts_and_the_other_overlaps(tmp_path: Path) -> None:
    """A second source for a cluster's day (Kubecost beside OpenCost during a migration) does not split the day's
    lines again: with no bill, every allocation row is an estimate at list price, and both exports would count it."""
    import os

    store = make_store(tmp_path, bill=False)
    opencost = LAYOUT.allocation_key("c1", DAY, "opencost")
    pipeline.merge(store, SETTINGS, days=[DAY])
    listed = pc.sum(results.read_day(store, LAYOUT, DAY)["ListCost"]).as_py()
    assert listed > 0
    kubecost = LAYOUT.allocation_key("c1", DAY, "kubecost")
    store.write(kubecost, store.read_bytes(opencost))
    os.utime(tmp_path / opencost, (1.7e9, 1.7e9))  # the OpenCost export is the older one
    summary = pipeline.merge(store, SETTINGS, days=[DAY])
    assert summary.overlapping == [opencost] and not summary.bad_inputs
    assert summary.reasons[opencost] == f"another export of the same cluster and day counts: {kubecost}"
    entry = LedgerStore(store, LAYOUT).load()[0].entries[opencost]
    assert (entry.kind, entry.state, entry.other) == ("allocation", "overlapping", kubecost)
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["ListCost"]).as_py() == pytest.approx(listed, rel=1e-12)
    store.delete(kubecost)  # the other export alone counts again
    again = pipeline.merge(store, SETTINGS, days=[DAY])
    assert again.merged == [DAY] and not again.overlapping
    assert pc.sum(results.read_day(store, LAYOUT, DAY)["ListCost"]).as_py() == pytest.approx(listed, rel=1e-12)


def test_a_bad_input_is_counted_once_while_it_stays_bad(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.write("billing/focus/broken.csv", b"BilledCost,ChargePeriodStart,EffectiveCost\nnot-a-number,2025-06-17,1\n")
    pipeline.merge(store, SETTINGS, days=[DAY])
    pipeline.merge(store, SETTINGS, days=[DAY])
    record = health.read(store, LAYOUT)
    assert (record["bad_inputs_total"], record["merges_total"]) == (1, 2)
    assert record["bad_inputs"] == ["billing/focus/broken.csv"]
    store.write("billing/focus/other.csv", b"BilledCost\nx\n")
    pipeline.merge(store, SETTINGS, days=[DAY])
    assert health.read(store, LAYOUT)["bad_inputs_total"] == 2
    store.delete("billing/focus/broken.csv")
    store.delete("billing/focus/other.csv")
    pipeline.merge(store, SETTINGS, days=[DAY])
    assert health.read(store, LAYOUT)["bad_inputs"] == []


def test_same_node_in_two_clusters_exports_fails_naming_both(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.write(LAYOUT.allocation_key("c9", DAY, "opencost"), parquet_bytes(allocation([alloc_row(cluster="c9")])))
    with pytest.raises(InputError, match=r"'c1' and 'c9'.*cluster=c1.*cluster=c9"):
        pipeline.merge(store, SETTINGS, days=[DAY])
    assert not list(store.list(LAYOUT.results_parquet_root()))


def test_result_parquet_is_the_declared_schema(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    pipeline.merge(store, SETTINGS, days=[DAY])
    raw = pq.read_table(io.BytesIO(store.read_bytes(LAYOUT.result_parquet_key(DAY))))
    assert raw.schema.names == results.RESULT.names
    assert raw.schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
