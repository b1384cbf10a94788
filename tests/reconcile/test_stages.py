"""The stage files (reconcile/sql): declared, pure, portable, and snapshotted (tests/reconcile/snapshots).

A stage's SQL changes only on purpose: set UPDATE_SNAPSHOTS=1 to rewrite the snapshots, then read their diff.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from kubebill.reconcile import engine, stages
from kubebill.reconcile.engine import Options, reconcile
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line

SNAPSHOTS = Path(__file__).parent / "snapshots"
DIALECTS = ("spark", "trino", "bigquery")
# The one function the stages call that no dialect spells alike: each engine's session provides it (DuckDB: a
# macro over its own 64-bit `hash`; Spark has `xxhash64` itself).
SESSION_FUNCTIONS = {"xxhash64"}
NAMES = [stage.name for stage in stages.STAGES]


def _tree(name: str) -> exp.Expression:
    return sqlglot.parse_one(stages.sql(name), read="duckdb")


def test_every_file_is_a_declared_stage_in_order() -> None:
    files = sorted(p.name for p in resources.files("kubebill.reconcile").joinpath("sql").iterdir())
    assert files == [stages.file_name(name) for name in NAMES]


@pytest.mark.parametrize("name", NAMES)
def test_stage_is_one_pure_select_reading_what_it_declares(name: str) -> None:
    raw = resources.files("kubebill.reconcile").joinpath("sql", stages.file_name(name)).read_text()
    assert raw.startswith("-- DESIGN §4"), "the header names the DESIGN §4 rule the stage implements"
    tree = _tree(name)
    assert isinstance(tree, exp.Query), f"{name}: a SELECT (or a UNION of them), found {type(tree).__name__}"
    forbidden = (exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Drop, exp.Star)
    found = [type(e).__name__ for e in tree.find_all(*forbidden) if not isinstance(e.parent, exp.Count)]
    assert not found, "explicit columns (count(*) aside), nothing written"
    assert not re.search(r"\browid\b", stages.sql(name), re.IGNORECASE)
    # NOT EXISTS, never NOT IN (subquery): Spark plans the latter as a null-aware anti join that broadcasts the whole
    # subquery (a 10M-line day's pairs ran the driver out of memory), DuckDB as a mark join that cannot spill
    not_in = [e for e in tree.find_all(exp.Not) if isinstance(e.this, exp.In) and e.this.args.get("query")]
    assert not not_in, f"{name}: NOT IN (SELECT …) found; write NOT EXISTS (SELECT 1 … WHERE …)"
    assert "{{" not in stages.sql(name) and "{0}" not in stages.sql(name)
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    read = {table.name for table in tree.find_all(exp.Table)} - ctes
    assert read == set(stages.BY_NAME[name].reads)
    assert all(r in stages.INPUTS or NAMES.index(r) < NAMES.index(name) for r in read), "reads only earlier stages"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_stage_transpiles_without_unsupported_constructs(name: str, dialect: str) -> None:
    unknown = {f.name.lower() for f in _tree(name).find_all(exp.Anonymous)} - SESSION_FUNCTIONS
    assert not unknown, f"functions sqlglot does not know, so cannot translate: {unknown}"
    # RAISE: any construct the target dialect lacks fails here instead of being written out as it is
    text = sqlglot.transpile(stages.sql(name), read="duckdb", write=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert len(text) == 1


@pytest.mark.parametrize("name", NAMES)
def test_stage_sql_snapshot(name: str) -> None:
    """What runs on DuckDB (the clouds' fragments put in) and its Spark SQL, as reviewed."""
    texts = {
        "duckdb": stages.sql(name),
        "spark": sqlglot.transpile(stages.sql(name), read="duckdb", write="spark", pretty=True)[0] + "\n",
    }
    for dialect, text in texts.items():
        path = SNAPSHOTS / dialect / f"{stages.file_name(name)}"
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"{path} is out of date (UPDATE_SNAPSHOTS=1 rewrites it)"


def _day() -> tuple[pa.Table, pa.Table]:
    """One day touching every rule: node, PV, LB, AKS fraction, VMSS parent, shared, unallocated, estimated,
    not_kubernetes."""
    sub = "/subscriptions/s1/resourcegroups/mc_rg_aks1_westus/providers"
    vmss = f"{sub}/microsoft.compute/virtualmachinescalesets/vmss1"
    pvs = [{"name": "pv1", "provider_id": "aws://us-east-1a/vol-1", "byte_hours": 10.0, "cost": 0.2}]
    lbs = [{"service": "web/front", "provider_id": "a1b2-0123456789abcdef.elb.us-east-1.amazonaws.com",
            "hours": 1.0, "cost": 0.1}]  # fmt: skip
    a = allocation(
        [alloc_row(namespace="web", start=h, cpu=0.3, pvs=pvs, load_balancers=lbs) for h in range(3)]
        + [alloc_row(namespace="db", start=h, cpu=0.2) for h in range(3)]
        + [idle_row(start=h) for h in range(3)]
        + [alloc_row(namespace="web", start=5, cpu=0.4)]  # no bill line yet: estimated
        + [
            alloc_row(
                cluster="aks1",
                node="vmss1_0",
                provider_id=f"azure://{vmss}/virtualmachines/0",
                source="aks",
                namespace=ns,
                fraction=f,
                split_bucket=b,
                start=0,
            )
            for ns, f, b in (("api", 0.7, "usage"), ("__idle__", 0.3, "idle"))
        ]
    )
    c = cost(
        [line("i-0001", 1.0 + h, start=h) for h in range(3)]
        + [line("vol-1", 0.5, start=1)]
        + [line("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/a1b2/ff", 0.3, start=2)]
        + [line(vmss, 2.0, start=0)]  # the VMSS line, split by the instance's fractions
        + [line("nat-1", 0.4, hint="c1"), line("nat-2", 0.6, hint="gone"), line("bucket", 0.7)]
    )
    return a, c


@pytest.mark.parametrize("spread", ["none", "weighted"])
def test_stages_run_from_their_transpiled_back_text(spread: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stage parsed by sqlglot and written back as DuckDB SQL gives the same day, row for row: what sqlglot
    understood of every stage (and translates from) is what the stage means. (Through Spark SQL and back is not
    an identity: sqlglot reads Spark's UNIX_TIMESTAMP(ts), what DuckDB's epoch(ts) becomes, as a string parse.)"""
    a, c = _day()
    options = Options(shared_spread=spread)
    expected = reconcile(a, c, day=DAY.date(), options=options)
    kinds = set(expected.column("x_K8sAllocation").to_pylist())
    assert {"workload", "idle", "shared", "unallocated", "estimated", "not_kubernetes"} <= kinds
    original = stages.sql
    texts: dict[str, str] = {}

    def round_trip(name: str) -> str:
        texts[name] = sqlglot.transpile(original(name), read="duckdb", write="duckdb")[0]
        return texts[name]

    monkeypatch.setattr(stages, "sql", round_trip)
    assert engine.stages.sql is round_trip
    assert reconcile(a, c, day=DAY.date(), options=options).equals(expected)
    assert set(texts) == set(NAMES) and texts["pairs"] != original("pairs")  # every stage ran from sqlglot's text


def test_runner_frees_each_relation_after_its_last_stored_reader() -> None:
    names = [stage.name for stage in stages.STAGES]
    uses = engine.last_uses(names)
    # node_keys is read only by the view node_rows, which the stored node_capacity and the view node_splits read,
    # and node_splits only by the stored split_rows
    assert uses["node_keys"] == uses["node_rows"] == uses["node_splits"] == names.index("split_rows")
    assert uses["pairs"] == names.index("line_weights") and uses["keymap"] == names.index("lb_keys")
    a, c = _day()
    run = engine.Reconciliation(a, c, day=DAY.date())
    try:
        left = {
            name
            for (name,) in run.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary"
                " UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
            ).fetchall()
        }
    finally:
        run.close()
    assert left & {*names, "keymap", "policy_values"} == set(stages.OUTPUTS)
