"""Property tests over random clusters and bills: conservation, non-negative idle, ratios summing to 1,
order independence of the inputs, and idempotence of a re-merge."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubebill import pipeline
from kubebill.reconcile.engine import reconcile
from kubebill.schema import COST_COLUMNS
from kubebill.settings import Settings
from kubebill.store.local import LocalStore
from tests.pipeline.merge_inputs import LAYOUT, parquet_bytes
from tests.reconcile.tables import DAY, alloc_row, allocation, cost, idle_row, line

money = st.floats(min_value=0.0, max_value=50.0, allow_nan=False).map(lambda v: round(v, 6))
signed = st.floats(min_value=-20.0, max_value=80.0, allow_nan=False).map(lambda v: round(v, 6))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Random clusters (nodes, pods per hour, idle possibly negative) and a bill touching them and more."""
    rows: list[dict[str, Any]] = []
    nodes: list[str] = []
    for c in range(draw(st.integers(1, 2))):
        for n in range(draw(st.integers(1, 3))):
            node_id = f"i-{c}{n:04d}"
            nodes.append(node_id)
            for h in range(draw(st.integers(1, 3))):
                common = {"cluster": f"c{c}", "node": f"n{c}{n}", "provider_id": f"aws:///z/{node_id}", "start": h}
                for p in range(draw(st.integers(0, 3))):
                    ns = draw(st.sampled_from(["web", "db", "batch"]))
                    rows.append(alloc_row(namespace=ns, pod=f"{ns}-{p}", cpu=draw(money), ram=draw(money), **common))
                if draw(st.booleans()):
                    rows.append(idle_row(cpu=draw(signed), ram=draw(money), **common))
    lines: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["node", "node", "daily", "shared", "other", "unknown-cluster"]))
        key = draw(st.sampled_from(nodes)) if kind in ("node", "daily") else f"res-{i}"
        lines.append(
            line(
                key,
                draw(signed),
                start=draw(st.integers(0, 3)) if kind != "daily" else 0,
                hours=24 if kind == "daily" else 1,
                currency=draw(st.sampled_from(["USD", "USD", "EUR"])),
                effective=draw(signed),
                list_cost=draw(money),
                hint={"shared": "c0", "unknown-cluster": "elsewhere"}.get(kind),
                row=i,
            )
        )
    return rows, lines


def _ratio(details: str | None) -> float:
    return 1.0 if details is None else float(json.loads(details)["Elements"][0]["AllocatedRatio"])


def _canonical(table: pa.Table) -> list[tuple[Any, ...]]:
    out = []
    for r in table.to_pylist():
        key = tuple(str(r[c]) for c in ("x_SourceRowId", "x_K8sCluster", "x_K8sNode", "x_K8sNamespace", "x_K8sPod",
                                        "x_K8sAllocation", "ChargePeriodStart"))  # fmt: skip
        out.append((key, tuple(round(float(r[c] or 0), 9) for c in COST_COLUMNS)))
    return sorted(out)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from(["opencost-list-cost", "aws-split-cost"]))
def test_conserved_non_negative_and_ratios_sum_to_one(world: tuple[list[Any], list[Any]], method: str) -> None:
    from kubebill.reconcile.engine import Options

    rows, lines = world
    bill = cost(lines)
    result = reconcile(allocation(rows), bill, day=DAY.date(), options=Options(method=method))
    billed = [r for r in result.to_pylist() if r["x_K8sAllocation"] != "estimated"]
    for column in COST_COLUMNS:
        by_currency: dict[str, float] = defaultdict(float)
        for r in billed:
            by_currency[r["BillingCurrency"]] += r[column]
        expected: dict[str, float] = defaultdict(float)
        for item in lines:
            expected[item["BillingCurrency"]] += item[column]
        assert by_currency.keys() == expected.keys()
        for currency, value in expected.items():
            assert by_currency[currency] == pytest.approx(value, rel=1e-9, abs=1e-9)
    per_line: dict[int, float] = defaultdict(float)
    for r in billed:
        ratio = _ratio(r["AllocatedMethodDetails"])
        assert ratio >= 0.0
        per_line[r["x_SourceRowId"]] += ratio
        if r["x_K8sAllocation"] == "idle" and lines[r["x_SourceRowId"]]["BilledCost"] >= 0:
            assert r["BilledCost"] >= 0.0
    assert set(per_line) == set(range(len(lines)))
    assert all(v == pytest.approx(1.0, abs=1e-9) for v in per_line.values())


@settings(max_examples=10, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_order_of_inputs_does_not_matter(world: tuple[list[Any], list[Any]], rnd: random.Random) -> None:
    rows, lines = world
    first = reconcile(allocation(rows), cost(lines), day=DAY.date())
    shuffled_rows, shuffled_lines = list(rows), [dict(item) for item in lines]
    rnd.shuffle(shuffled_rows)
    rnd.shuffle(shuffled_lines)
    second = reconcile(allocation(shuffled_rows), cost(shuffled_lines), day=DAY.date())
    assert _canonical(first) == _canonical(second)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(worlds())
def test_remerge_is_idempotent(tmp_path_factory: pytest.TempPathFactory, world: tuple[list[Any], list[Any]]) -> None:
    rows, lines = world
    if not rows:
        rows = [alloc_row()]
    root: Path = tmp_path_factory.mktemp("store")
    store = LocalStore(root)
    store.write(LAYOUT.allocation_key("c0", DAY.date(), "opencost"), parquet_bytes(allocation(rows)))
    store.write("billing/focus/bill.parquet", parquet_bytes(cost(lines).drop_columns(["x_ResourceKey"])))
    first = pipeline.merge(store, Settings(store=str(root)))
    before = {i.key: i.etag for i in store.list("results/") if "health" not in i.key}
    second = pipeline.merge(store, Settings(store=str(root)), days=first.days)
    assert second.merged == []
    assert {i.key: i.etag for i in store.list("results/") if "health" not in i.key} == before
