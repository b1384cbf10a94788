"""reconcile.result_sql: the day's RESULT rows as one SELECT give exactly the rows reconcile.rows writes, for every
kind of row (split, policy-moved, passed through, estimated), and its text changes only on purpose (a snapshot:
UPDATE_SNAPSHOTS=1 rewrites it, then read the diff)."""

from __future__ import annotations

import math
import os

import pyarrow as pa
import pytest
import sqlglot

from kubebill.reconcile.engine import Options, Reconciliation
from kubebill.reconcile.result_sql import READS, result_select
from kubebill.reconcile.rows import plain
from kubebill.reconcile.spark import spark_sql
from kubebill.reconcile.splits import AWS_SPLIT_COST
from kubebill.schema import RESULT
from tests.agentless.test_rules import PARENT, PODS, gke_line
from tests.policies import handmade
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line
from tests.reconcile.test_stages import SNAPSHOTS, _day

COSTS = [f.name for f in RESULT if pa.types.is_floating(f.type)]


def scenarios() -> dict[str, tuple[pa.Table, pa.Table, Options]]:
    """The reconcile scenarios: the day touching every split rule, the policies' handmade day under each policy,
    NULL key parts, currencies, the AWS weights, the clouds' own splits."""
    day_a, day_c = _day()
    nulls = allocation(
        [
            alloc_row(controller=None, pod="p", container="p"),
            alloc_row(controller="p", pod="p", container=None),
            idle_row(),
        ]
    )
    two = allocation([alloc_row(namespace="web", cpu=1, ram=0), alloc_row(namespace="db", cpu=3, ram=0)])
    currencies = cost([line("i-0001", 10.0), line("i-0001", 9.0, currency="EUR"), line("i-0001", -4.0)])
    gke = cost([gke_line("gke-node-1", "web", 2.0), gke_line("gke-node-1", "__idle__", 0.5)])
    hand = (handmade.ALLOCATION, handmade.COST)
    unmounted = alloc_row(
        namespace="__unmounted__",
        provider_id=None,
        node=None,
        pvs=[{"name": "pv-2", "provider_id": "vol-0dead", "byte_hours": 1.0, "cost": 0.2}],
    )
    vmss = "/subscriptions/s/resourceGroups/MC_rg_aks_westus3/providers/Microsoft.Compute/virtualMachineScaleSets/vmss"
    aks = allocation(
        [
            alloc_row(source="aks", provider_id=vmss, node=None, namespace=ns, fraction=f, split_bucket=b)
            for ns, f, b in (("web", 0.75, "usage"), ("kube-system", 0.25, "system"))
        ]
    )
    return {
        "every-rule": (day_a, day_c, Options()),
        "every-rule-weighted": (day_a, day_c, Options(shared_spread="weighted")),
        # every kind of row in one day, moved rows too (the Spark test's day)
        "every-rule-policies": (
            day_a,
            pa.concat_tables([day_c, cost([line("bucket-web", 0.8, Tags='{"kubernetes.io/namespace":"web"}')])]),
            Options(shared_spread="weighted", idle_share="weighted", namespace_tags=("kubernetes.io/namespace",)),
        ),
        "policies-none": (*hand, Options()),
        "idle-weighted-node": (*hand, Options(idle_share="weighted")),
        "idle-even-cluster-shared-namespace": (
            *hand,
            Options(
                idle_share="even", idle_share_scope="cluster", shared_spread="even", shared_namespaces=("kube-system",)
            ),
        ),
        "shared-label-weighted": (*hand, Options(shared_spread="weighted", shared_labels=("team=platform",))),
        "namespace-tags": (
            *hand,
            Options(namespace_tags=("kubernetes.io/namespace", "team"), cluster_tags=("cluster",)),
        ),
        "null-key-parts": (nulls, cost([line("i-0001", 3.0)]), Options()),
        "currencies-estimated-eur": (two, currencies, Options(estimate_currency="EUR'quoted")),
        "aws-split-cost": (two, cost([line("i-0001", 10.0)]), Options(method=AWS_SPLIT_COST)),
        "aws-scad": (allocation([]), cost([PARENT, *PODS, line("bucket", 1.0)]), Options()),
        "gke-cost-allocation": (allocation([]), gke, Options()),
        "estimates-only": (two, cost([]), Options()),
        "unmounted-volume": (
            allocation([unmounted]),
            cost([line("vol-0dead", 0.7, ServiceCategory="Storage")]),
            Options(),
        ),
        "aks-vmss-instance-system": (aks, cost([line((vmss + "/virtualMachines/1").lower(), 0.4)]), Options()),
    }


def _rows(table: pa.Table) -> list[tuple[tuple[object, ...], tuple[float | None, ...]]]:
    """Each row as (its other columns, its costs), in one order."""
    others = [c for c in RESULT.names if c not in COSTS]
    keys = list(zip(*(table[c].to_pylist() for c in others), strict=True))
    costs = list(zip(*(table[c].to_pylist() for c in COSTS), strict=True))
    return sorted(zip(keys, costs, strict=True), key=repr)


def assert_same_rows(expected: pa.Table, found: pa.Table) -> None:
    """The same multiset of rows: every string and timestamp identical, costs within 1e-9 relative."""
    assert found.schema.equals(RESULT), found.schema
    assert found.num_rows == expected.num_rows
    for (want_key, want), (key, got) in zip(_rows(expected), _rows(found), strict=True):
        assert key == want_key
        for name, a, b in zip(COSTS, want, got, strict=True):
            same = (a is None and b is None) or (
                a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            )
            assert same, f"{name} of {key}: rows {a!r}, result_select {b!r}"


@pytest.mark.parametrize("name", list(scenarios()))
def test_result_select_gives_the_rows_of_the_writer(name: str) -> None:
    a, c, options = scenarios()[name]
    run = Reconciliation(a, c, day=DAY.date(), options=options)
    try:
        expected = pa.Table.from_batches([plain(b) for b in run.batches()], RESULT)
        for relation in READS:  # the day's relations under other names, as a caller of several days has them
            run.con.execute(f'CREATE TEMP VIEW "d17_{relation}" AS SELECT * FROM "{relation}"')
        text = result_select(estimate_currency=options.estimate_currency, relation=lambda n: f'"d17_{n}"')
        found = run.con.sql(text).to_arrow_table()
    finally:
        run.close()
    assert expected.num_rows
    assert_same_rows(expected, found)


def test_the_scenarios_make_every_kind_of_row() -> None:
    kinds, methods = set(), set()
    for a, c, options in scenarios().values():
        run = Reconciliation(a, c, day=DAY.date(), options=options)
        try:
            table = run.con.sql(result_select(estimate_currency=options.estimate_currency)).to_arrow_table()
        finally:
            run.close()
        kinds |= set(table["x_K8sAllocation"].to_pylist())
        methods |= set(table["AllocatedMethodId"].to_pylist())
    assert kinds >= {"workload", "idle", "system", "shared", "unmounted", "unallocated", "estimated"} | {
        "not_kubernetes", "external"
    }  # fmt: skip
    assert methods >= {
        "opencost-list-cost", "aws-split-cost", "aws-split-cost-allocation-data", "gke-cost-allocation",
        "aks-cost-analysis-fraction", "idle-share-weighted", "idle-share-even", "shared-even", "shared-weighted",
        "namespace-tag",
    }  # fmt: skip


def test_result_select_snapshot() -> None:
    """The SELECT on DuckDB and the Spark SQL it becomes (reconcile.spark_rows), as reviewed."""
    text = result_select(estimate_currency="USD")
    texts = {
        "duckdb": text,
        "spark": sqlglot.transpile(spark_sql(text), read="spark", write="spark", pretty=True)[0] + "\n",
    }
    for dialect, found in texts.items():
        path = SNAPSHOTS / "result_select" / f"{dialect}.sql"
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(found)
        assert path.read_text() == found, f"{path} is out of date (UPDATE_SNAPSHOTS=1 rewrites it)"


def test_relation_names_every_relation_read() -> None:
    text = result_select(estimate_currency="USD", relation=lambda n: f"day_{n}")
    tables = {t.name for t in sqlglot.parse_one(text, read="duckdb").find_all(sqlglot.exp.Table)}
    assert tables == {f"day_{n}" for n in READS}
