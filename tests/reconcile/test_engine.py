"""The reconcile engine over hand-built ALLOCATION and COST tables: every kind of line and every bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from kubebill.ahead import ahead
from kubebill.errors import InputError, InvariantViolation
from kubebill.reconcile import engine, invariants
from kubebill.reconcile import rows as result_rows
from kubebill.reconcile.engine import Options, Reconciliation, reconcile
from kubebill.schema import COST, COST_COLUMNS, RESULT
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line, split_passed_lines

D = DAY.date()


def rows(table: pa.Table, **where: str) -> list[dict[str, object]]:
    out = table.to_pylist()
    return [r for r in out if all(r[k] == v for k, v in where.items())]


def total(table: pa.Table, column: str = "BilledCost", **where: str) -> float:
    return sum(float(r[column] or 0) for r in rows(table, **where))


def ratios(table: pa.Table) -> list[float]:
    return [
        json.loads(r["AllocatedMethodDetails"])["Elements"][0]["AllocatedRatio"] if r["AllocatedMethodDetails"] else 1.0
        for r in table.to_pylist()
    ]


def test_node_line_k_factor_and_idle() -> None:
    a = allocation(
        [alloc_row(namespace="web", cpu=1, ram=1), alloc_row(namespace="db", cpu=2, ram=0), idle_row(cpu=0.5, ram=0.5)]
    )
    result = reconcile(a, cost([line("i-0001", 10.0, effective=8.0)]), day=D)
    assert result.schema == RESULT
    # L = 5, a = 4, k = 10 / 5: each row gets its list cost × 2, idle gets B − k·a = 2
    assert total(result, x_K8sNamespace="web") == pytest.approx(4.0)
    assert total(result, x_K8sNamespace="db") == pytest.approx(4.0)
    assert total(result, x_K8sAllocation="idle") == pytest.approx(2.0)
    assert total(result, "EffectiveCost", x_K8sNamespace="db") == pytest.approx(3.2)
    assert sum(ratios(result)) == pytest.approx(1.0, rel=1e-12)
    web = rows(result, x_K8sNamespace="web")[0]
    assert web["AllocatedMethodId"] == "opencost-list-cost"
    assert web["x_K8sCostComponent"] == "compute"
    assert web["x_K8sCpuRatio"] == pytest.approx(0.5)
    assert web["AllocatedResourceId"] == "c1/web/web-pod/app"
    assert web["x_SourceKey"] == "billing/aws/bill.csv" and web["x_SourceRowId"] == 0


def test_allocated_above_node_cost_flags_and_idle_is_never_negative() -> None:
    a = allocation([alloc_row(namespace="web", cpu=3, ram=0), idle_row(cpu=-1, ram=0)])
    run = Reconciliation(a, cost([line("i-0001", 6.0)]), day=D)
    result = run.table()
    assert run.stats()["flagged_slices"] == 1
    run.close()
    assert total(result, x_K8sNamespace="web") == pytest.approx(6.0)  # k = B / max(L, a) = 6 / 3
    idle = rows(result, x_K8sAllocation="idle")[0]
    assert idle["BilledCost"] == 0.0
    assert json.loads(idle["AllocatedMethodDetails"])["x_AllocatedExceedsNode"] is True


def test_daily_line_against_hourly_steps_and_hourly_grain() -> None:
    a = allocation(
        [alloc_row(namespace="web", start=h, cpu=1, ram=0) for h in range(24)]
        + [alloc_row(namespace="batch", start=h, cpu=1, ram=0) for h in range(12)]
    )
    daily = reconcile(a, cost([line("i-0001", 36.0, hours=24)]), day=D)
    assert total(daily, x_K8sNamespace="web") == pytest.approx(24.0)
    assert total(daily, x_K8sNamespace="batch") == pytest.approx(12.0)
    assert daily.num_rows == 2  # one row per target, not per step
    hourly = reconcile(a, cost([line("i-0001", 2.0, start=h, row=h) for h in range(24)]), day=D)
    assert total(hourly, x_K8sNamespace="batch") == pytest.approx(12.0)
    assert total(hourly, x_K8sNamespace="web") == pytest.approx(36.0)


def test_volume_lb_shared_unallocated_and_pass_through() -> None:
    pv = [{"name": "pv-1", "provider_id": "aws://us-east-1a/vol-0abc", "byte_hours": 1.0, "cost": 0.1}]
    lb = [{"service": "web/front", "provider_id": "a1b2-elb", "hours": 1.0, "cost": 0.03}]
    a = allocation(
        [
            alloc_row(namespace="web", pvs=pv, load_balancers=lb),
            alloc_row(namespace="api", pvs=[{**pv[0], "cost": 0.3}]),
            alloc_row(
                namespace="__unmounted__",
                provider_id=None,
                node=None,
                pvs=[{"name": "pv-2", "provider_id": "vol-0dead", "byte_hours": 1.0, "cost": 0.2}],
            ),
        ]
    )
    c = cost(
        [
            line("vol-0abc", 4.0, ServiceCategory="Storage"),
            line("a1b2-elb", 1.5, ServiceCategory="Networking"),
            line("vol-0dead", 0.7),
            line("vol-osdisk", 0.9, hint="c1"),
            line("nat-1", 0.4, hint="other-cluster"),
            line("s3-bucket", 5.0),
        ]
    )
    result = reconcile(a, c, day=D)
    assert total(result, ResourceId="vol-0abc", x_K8sNamespace="api") == pytest.approx(3.0)
    assert rows(result, ResourceId="vol-0abc", x_K8sNamespace="web")[0]["x_K8sCostComponent"] == "pv"
    assert total(result, ResourceId="a1b2-elb", x_K8sNamespace="web") == pytest.approx(1.5)
    assert rows(result, ResourceId="vol-0dead")[0]["x_K8sAllocation"] == "unmounted"
    shared = rows(result, ResourceId="vol-osdisk")
    assert [(r["x_K8sCluster"], r["x_K8sNamespace"], r["x_K8sAllocation"]) for r in shared] == [
        ("c1", "__shared__", "shared")
    ]
    assert rows(result, ResourceId="nat-1")[0]["x_K8sAllocation"] == "unallocated"
    passed = rows(result, ResourceId="s3-bucket")
    assert len(passed) == 1 and passed[0]["x_K8sAllocation"] == "not_kubernetes"
    assert passed[0]["AllocatedMethodId"] is None and passed[0]["BilledCost"] == 5.0


def test_shared_spread_by_namespace_weight() -> None:
    a = allocation([alloc_row(namespace="web", cpu=3, ram=0), alloc_row(namespace="db", cpu=1, ram=0)])
    result = reconcile(
        a, cost([line("eks-control-plane", 8.0, hint="C1")]), day=D, options=Options(shared_spread="weighted")
    )
    assert total(result, x_K8sNamespace="web", x_K8sAllocation="shared") == pytest.approx(6.0)
    assert total(result, x_K8sNamespace="db", x_K8sAllocation="shared") == pytest.approx(2.0)
    assert {r["x_K8sAllocation"] for r in rows(result, ResourceId="eks-control-plane")} == {"shared"}


def test_allocation_without_bill_is_estimated_at_list_price() -> None:
    a = allocation([alloc_row(namespace="web", start=h, cpu=1, ram=0.5) for h in range(3)] + [idle_row(cpu=0.5, ram=0)])
    result = reconcile(a, cost([]), day=D)
    assert {r["x_K8sAllocation"] for r in result.to_pylist()} == {"estimated"}
    assert total(result, "ListCost", x_K8sNamespace="web") == pytest.approx(4.5)
    assert total(result, "BilledCost") == 0.0 and total(result, "EffectiveCost") == 0.0
    # hour 0 billed, hours 1-2 not yet: only those are estimated
    partial = reconcile(a, cost([line("i-0001", 2.0)]), day=D)
    assert total(partial, "ListCost", x_K8sAllocation="estimated") == pytest.approx(3.0)
    assert total(partial, "BilledCost") == pytest.approx(2.0)


def test_mixed_currencies_are_kept_apart_and_negative_lines_conserved() -> None:
    a = allocation([alloc_row(namespace="web", cpu=1, ram=0), alloc_row(namespace="db", cpu=3, ram=0)])
    c = cost([line("i-0001", 10.0, currency="USD"), line("i-0001", 9.0, currency="EUR"), line("i-0001", -4.0)])
    result = reconcile(a, c, day=D)
    usd = result.filter(pc.equal(result["BillingCurrency"], "USD"))
    eur = result.filter(pc.equal(result["BillingCurrency"], "EUR"))
    assert pc.sum(usd["BilledCost"]).as_py() == pytest.approx(6.0)
    assert pc.sum(eur["BilledCost"]).as_py() == pytest.approx(9.0)
    assert total(usd, x_K8sNamespace="db") == pytest.approx(4.5)  # (10 − 4) × 3/4: the credit split like the charge


def test_node_with_rows_but_zero_list_cost_splits_by_minutes() -> None:
    a = allocation([alloc_row(namespace="web", cpu=0, ram=0), alloc_row(namespace="db", cpu=0, ram=0, minutes=20.0)])
    result = reconcile(a, cost([line("i-0001", 8.0)]), day=D)
    assert total(result, x_K8sNamespace="web") == pytest.approx(6.0)
    assert total(result, x_K8sNamespace="db") == pytest.approx(2.0)
    assert "Minutes" in rows(result, x_K8sNamespace="db")[0]["AllocatedMethodDetails"]


def test_same_node_in_two_clusters_names_both() -> None:
    a = allocation([alloc_row(cluster="blue"), alloc_row(cluster="green", namespace="api")])
    with pytest.raises(InputError, match=r"'blue' and 'green'"):
        reconcile(a, cost([line("i-0001", 1.0)]), day=D)


def test_aws_split_cost_weights_9_to_1() -> None:
    gib = float(2**30)
    kw = {"minutes": 60.0}
    a = allocation(
        [
            alloc_row(
                namespace="cpu-heavy",
                cpu_core_request_average=2.0,
                cpu_core_usage_average=1.0,
                ram_byte_request_average=0.0,
                ram_byte_usage_average=0.0,
                **kw,
            ),
            alloc_row(
                namespace="ram-heavy",
                cpu_core_request_average=0.0,
                cpu_core_usage_average=0.0,
                ram_byte_request_average=4 * gib,
                ram_byte_usage_average=gib,
                **kw,
            ),
            idle_row(cpu_core_hours=2.0, ram_byte_hours=4 * gib),
        ]
    )
    result = reconcile(a, cost([line("i-0001", 10.0)]), day=D, options=Options(method="aws-split-cost"))
    # capacity 4 cores, 8 GiB: cpu-heavy 0.9 × 2/4, ram-heavy 0.1 × 4/8, idle the rest
    assert total(result, x_K8sNamespace="cpu-heavy") == pytest.approx(4.5)
    assert total(result, x_K8sNamespace="ram-heavy") == pytest.approx(0.5)
    assert total(result, x_K8sAllocation="idle") == pytest.approx(5.0)
    assert {r["AllocatedMethodId"] for r in result.to_pylist()} == {"aws-split-cost"}


def test_vmss_instance_line_falls_back_to_the_vmss_split() -> None:
    vmss = "/subscriptions/s/resourceGroups/MC_rg_aks_westus3/providers/Microsoft.Compute/virtualMachineScaleSets/vmss"
    a = allocation(
        [
            alloc_row(source="aks", provider_id=vmss, node=None, namespace="web", fraction=0.75, split_bucket="usage"),
            alloc_row(
                source="aks", provider_id=vmss, node=None, namespace="kube-system", fraction=0.25, split_bucket="system"
            ),
        ]
    )
    defender = (vmss + "/virtualMachines/1").lower()
    result = reconcile(a, cost([line(defender, 0.4)]), day=D)
    assert total(result, x_K8sNamespace="web") == pytest.approx(0.3)
    assert rows(result, x_K8sNamespace="kube-system")[0]["x_K8sAllocation"] == "system"
    assert rows(result, x_K8sNamespace="web")[0]["AllocatedMethodId"] == "aks-cost-analysis-fraction"


def test_invariant_violation_names_the_line() -> None:
    a = allocation([alloc_row()])
    run = Reconciliation(a, cost([line("i-0001", 1.0, row=7)]), day=D)
    run.con.execute("UPDATE result_rows SET BilledCost = BilledCost * 0.5")
    with pytest.raises(InvariantViolation, match=r"bill\.csv row 7 .*BilledCost"):
        invariants.check(run.con)
    run.close()


def test_a_line_passed_through_whole_is_written_once() -> None:
    """A line outside every cluster is passed through before the split (`passed_lines`): it must have no split
    row besides (it would be written twice), and a line neither split nor passed is a line lost."""
    run = Reconciliation(allocation([alloc_row()]), cost([line("bucket", 2.0, row=3)]), day=D)
    found = run.stats()
    assert found["not_kubernetes"] == 1 and run.rows == 1 + found.get("estimated", 0)
    invariants.check(run.con)
    run.con.execute(split_passed_lines())
    with pytest.raises(InvariantViolation, match=r"bill\.csv row 3 .*passed through whole .* split into 1 rows"):
        invariants.check(run.con)
    run.con.execute("DELETE FROM result_rows")
    run.con.execute("DELETE FROM passed_lines")
    with pytest.raises(InvariantViolation, match=r"bill\.csv row 3 .*produced no row"):
        invariants.check(run.con)
    run.close()


def test_a_line_passed_twice_or_rows_of_no_line_are_violations() -> None:
    """The counts that stand for joining every line to its rows see a line passed through twice (written twice)
    and split rows whose line is not one of the day's."""
    run = Reconciliation(allocation([alloc_row()]), cost([line("bucket", 2.0, row=3)]), day=D)
    run.con.execute("INSERT INTO passed_lines SELECT * FROM passed_lines")
    with pytest.raises(InvariantViolation, match=r"bill\.csv row 3 .*passed through whole as not_kubernetes 2 times"):
        invariants.check(run.con)
    run.con.execute("DELETE FROM passed_lines WHERE rowid = (SELECT max(rowid) FROM passed_lines)")
    invariants.check(run.con)
    run.con.execute(split_passed_lines(lid_shift=1000))
    with pytest.raises(InvariantViolation, match=r"bill line #\d+: 1 rows were split from no bill line of the day"):
        invariants.check(run.con)
    run.con.execute("DELETE FROM result_rows WHERE lid >= 1000")
    run.con.execute("UPDATE passed_lines SET lid = lid + 1000")  # a passed line that is no line of the day
    with pytest.raises(InvariantViolation, match=r"bill line #\d+: passed through whole .* but it is no bill line"):
        invariants.check(run.con)
    run.close()


def test_every_cost_column_is_conserved() -> None:
    a = allocation([alloc_row(namespace=f"ns{i}", cpu=0.1 * (i + 1), ram=0.07) for i in range(7)] + [idle_row()])
    c = cost([line("i-0001", 1.2345, effective=0.98, list_cost=2.0, row=0), line("other", 3.0, row=1)])
    result = reconcile(a, c, day=D)
    for column in COST_COLUMNS:
        assert pc.sum(result[column]).as_py() == pytest.approx(pc.sum(c[column]).as_py(), rel=1e-12)


def test_aks_control_plane_line_is_the_clusters_shared_cost() -> None:
    fee = "/subscriptions/s/resourcegroups/rg-c1/providers/microsoft.containerservice/managedclusters/c1"
    result = reconcile(allocation([alloc_row()]), cost([line(fee, 2.4), line("i-0001", 1.0)]), day=D)
    assert [(r["x_K8sCluster"], r["x_K8sAllocation"]) for r in rows(result, ResourceId=fee)] == [("c1", "shared")]


def test_lines_from_several_parquet_files_are_numbered_apart(tmp_path: Path) -> None:
    """The pipeline's path: each billing unit staged in its own Parquet file and read by DuckDB's reader, the
    lines numbered by file offset + row number. Rows of equal position in two files must stay two lines."""
    a = allocation([alloc_row(namespace="web", cpu=1, ram=1), idle_row(cpu=1, ram=1)])
    files = []
    for n, (key, amount) in enumerate([("i-0001", 10.0), ("i-0001", 6.0), ("bucket", 1.5)]):
        path = tmp_path / f"billing-{n}.parquet"
        pq.write_table(cost([line(key, amount, row=0, source_key=f"billing/unit-{n}.csv")]), path)
        files.append(str(path))
    result = reconcile(a, ds.dataset(files, schema=COST, format="parquet"), day=D)
    assert total(result) == pytest.approx(17.5, rel=1e-12)
    assert total(result, x_SourceKey="billing/unit-1.csv") == pytest.approx(6.0, rel=1e-12)
    assert total(result, x_K8sNamespace="web") == pytest.approx(8.0, rel=1e-12)  # half of each node line
    assert sorted(r["x_SourceKey"] for r in rows(result, x_K8sAllocation="not_kubernetes")) == ["billing/unit-2.csv"]


@pytest.mark.parametrize("options", [Options(), Options(idle_share="weighted")])
def test_stages_read_in_place_from_files_give_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: Options
) -> None:
    """Inputs in local Parquet files: the stages filtering them (IN_PLACE) stay views over the files, and give the
    very rows of the same inputs stored (Arrow inputs, or a day of too many writer chunks)."""
    a = allocation(
        [
            alloc_row(namespace=f"ns{i}", pod=f"p{i}", start=h, cpu=0.1 * (i + 1), ram=0.05)
            for i in range(3)
            for h in range(3)
        ]
        + [idle_row(start=h) for h in range(3)]
        + [alloc_row(namespace="late", start=30)]  # the next day's step: filtered out
    )
    c = cost(
        [line("i-0001", 1.0 + h, start=h) for h in range(3)]
        + [line("bucket", 0.5, start=h) for h in range(3)]
        + [line("nat-1", 0.4, hint="c1"), line("i-0001", 9.0, start=-2), line("i-0001", 9.0, start=25)]
    )
    pq.write_table(a, tmp_path / "allocation.parquet")
    pq.write_table(c, tmp_path / "billing.parquet")
    files = {
        "allocation": ds.dataset([str(tmp_path / "allocation.parquet")], format="parquet"),
        "cost": ds.dataset([str(tmp_path / "billing.parquet")], schema=COST, format="parquet"),
    }
    made: dict[str, str] = {}
    run_stage = engine.run_stage
    monkeypatch.setattr(
        engine, "run_stage", lambda con, name, *a, **k: made.setdefault(name, run_stage(con, name, *a, **k))
    )
    stored = reconcile(a, c, day=D, options=options)
    assert {name: made.pop(name) for name in engine.IN_PLACE} == {"allocation_rows": "TABLE", "bill_lines": "TABLE"}
    made.clear()
    run = Reconciliation(files["allocation"], files["cost"], day=D, options=options)
    in_place = run.table()
    run.close()
    assert {name: made.pop(name) for name in engine.IN_PLACE} == {"allocation_rows": "VIEW", "bill_lines": "VIEW"}
    assert in_place.num_rows == stored.num_rows >= 3 * 4 + 3 + 1  # pods, idle, bucket, nat (+ policy rows)
    assert in_place.equals(stored)
    monkeypatch.setattr(result_rows, "LINES_PER_JOIN", 2)  # 9 lines: 5 chunks, from SORT_FROM_CHUNKS on stored
    made.clear()
    run = Reconciliation(files["allocation"], files["cost"], day=D, options=options)
    chunked = run.table()
    run.close()
    assert {name: made.pop(name) for name in engine.IN_PLACE} == {"allocation_rows": "TABLE", "bill_lines": "TABLE"}
    assert chunked.equals(stored)


def test_result_parquet_encodings(tmp_path: Path) -> None:
    """Dictionaries where values repeat over a line's split rows, none on per-row values; min/max statistics on
    the columns readers filter by."""
    a = allocation(
        [alloc_row(namespace=f"ns{i}", start=h, cpu=0.1 * (i + 1), ram=0.05) for i in range(5) for h in range(4)]
        + [idle_row(start=h) for h in range(4)]
    )
    run = Reconciliation(a, cost([line("i-0001", 3.0, start=h) for h in range(4)]), day=D)
    path = tmp_path / "result.parquet"
    run.write_parquet(str(path))
    run.close()
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 24
    columns = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i) for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in columns["x_K8sNamespace"].encodings
    assert "RLE_DICTIONARY" not in columns["BilledCost"].encodings
    assert "RLE_DICTIONARY" not in columns["AllocatedMethodDetails"].encodings
    assert columns["ChargePeriodStart"].statistics is not None and columns["ChargePeriodStart"].statistics.has_min_max
    assert columns["AllocatedMethodDetails"].statistics is None


def test_target_columns_of_few_values_travel_as_dictionaries_and_are_read_as_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target column of at most DICTIONARY_TARGETS values reaches the encoder as one Arrow dictionary for the
    day, a column of more as plain strings; the file holds the same rows either way and reads back as RESULT, its
    fields' docs included, with statistics of the rows of each row group only."""
    a = allocation(
        [
            alloc_row(namespace=f"ns{i}", pod=f"p{i}", start=h, cpu=0.1 * (i + 1), ram=0.05)
            for i in range(5)
            for h in range(4)
        ]
        + [idle_row(start=h) for h in range(4)]
        + [alloc_row(namespace="late", pod="late", start=20, cpu=0.1, ram=0.05)]  # no bill line: an estimate
    )
    lines = cost([line("i-0001", 3.0, start=h) for h in range(4)] + [line("bucket", 1.0, ResourceId="s3://b")])
    monkeypatch.setattr(result_rows, "DICTIONARY_TARGETS", 3)  # x_K8sAllocation: 3 values; x_K8sNamespace: 7
    monkeypatch.setattr(result_rows, "ROW_GROUP", 5)
    run = Reconciliation(a, lines, day=D)
    batches = list(run.batches())
    expected = run.table()
    path = tmp_path / "result.parquet"
    run.write_parquet(str(path))
    run.close()
    types = {f.name: f.type for f in batches[0].schema}
    assert pa.types.is_dictionary(types["x_K8sAllocation"]) and pa.types.is_dictionary(types["x_K8sCluster"])
    assert types["x_K8sNamespace"] == pa.string() and types["BilledCost"] == pa.float64()
    assert {b.schema for b in batches} == {batches[0].schema}  # the estimates' batch too
    assert (
        "estimated"
        in pa.Table.from_batches([result_rows.plain(b) for b in batches], RESULT)["x_K8sAllocation"].to_pylist()
    )
    read = pq.read_table(path)
    assert read.schema.equals(RESULT, check_metadata=True)
    order = [
        (n, "ascending")
        for n in ("x_SourceRowId", "x_K8sNamespace", "x_K8sPod", "x_K8sAllocation", "ChargePeriodStart")
    ]
    assert read.sort_by(order).equals(expected.sort_by(order))
    file = pq.ParquetFile(path)
    assert file.metadata.num_row_groups > 3
    column = RESULT.get_field_index("x_K8sAllocation")
    for group in range(file.metadata.num_row_groups):  # of the group's rows, not of the day's dictionary
        stats = file.metadata.row_group(group).column(column).statistics
        values = file.read_row_group(group, columns=["x_K8sAllocation"]).column(0)
        assert (stats.min, stats.max) == (pc.min(values).as_py(), pc.max(values).as_py())


def test_many_chunks_write_the_same_rows_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wide write joins LINES_PER_JOIN lines at a time and, from SORT_FROM_CHUNKS chunks on, stores `result_rows`
    in line order first (and `matched_rows` before it, see engine.Reconciliation); a split row's target columns are
    taken by row number. Any chunking gives the same rows."""
    a = allocation(
        [
            alloc_row(namespace=f"ns{i}", pod=f"p{i}", start=h, cpu=0.1 * (i + 1), ram=0.05)
            for i in range(4)
            for h in range(6)
        ]
        + [idle_row(start=h) for h in range(6)]
        + [alloc_row(node="n2", provider_id="aws:///us-east-1a/i-0002", namespace="db", start=h) for h in range(6)]
    )
    c = cost(
        [line("i-0001", 1.0 + h, start=h) for h in range(6)]
        + [line("i-0002", 2.0, start=h) for h in range(6)]
        + [line("bucket", 0.5, start=h) for h in range(6)]
        + [line("i-0003", 3.0, hint="c1")]  # a cluster's line with no key: __shared__
    )
    made: dict[str, str] = {}
    run_stage = engine.run_stage

    def recorded(con: object, name: str, parameters: object, **options: object) -> str:
        made[name] = run_stage(con, name, parameters, **options)  # type: ignore[arg-type]
        return made[name]

    monkeypatch.setattr(engine, "run_stage", recorded)
    whole = reconcile(a, c, day=D)
    assert made["matched_rows"] == "VIEW"
    monkeypatch.setattr(result_rows, "LINES_PER_JOIN", 2)
    run = Reconciliation(a, c, day=D)
    assert made["matched_rows"] == "TABLE"
    sorted_out = run.con.execute("SELECT lid FROM result_rows").fetchall()
    chunked = run.table()
    run.close()
    assert [r[0] for r in sorted_out] == sorted(r[0] for r in sorted_out)  # 10 chunks: in line order
    assert chunked.num_rows == whole.num_rows == 6 * 5 + 6 + 6 + 1  # pods and idle, db, the bucket, shared
    assert chunked.equals(whole)


def test_batches_made_ahead_keep_their_order_and_errors(tmp_path: Path) -> None:
    """The writer takes its batches from a thread of their own: in order, the thread's error raised in the caller,
    and the source closed before the write returns, whichever side stops first."""
    batches = [pa.record_batch({"n": [i]}) for i in range(7)]
    assert [b.column("n")[0].as_py() for b in ahead(iter(batches), depth=2)] == list(range(7))
    closed: list[str] = []

    def failing() -> Iterator[pa.RecordBatch]:
        try:
            yield batches[0]
            raise InputError("bad row 3")
        finally:
            closed.append("failing")

    with pytest.raises(InputError, match="bad row 3"):
        list(ahead(failing()))
    assert closed == ["failing"]

    def endless() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                yield batches[0]
        finally:
            closed.append("endless")

    a = allocation([alloc_row(), idle_row()])
    run = Reconciliation(a, cost([line("i-0001", 1.0)]), day=D)
    wrong = (b.drop_columns(["BilledCost"]) for b in run.batches())  # the writer refuses it: the caller stops
    with pytest.raises((ValueError, pa.ArrowException)):
        result_rows.write_parquet(str(tmp_path / "result.parquet"), wrong)
    assert run.con.execute("SELECT count(*) FROM allocated_rows").fetchall() == [(2,)]  # no thread on it now
    run.close()
    made = ahead(endless(), depth=1)
    assert next(made).num_rows == 1
    made.close()
    assert closed == ["failing", "endless"]
