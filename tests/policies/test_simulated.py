"""The policies on simulated three-cloud data (`kubebill simulate`: system namespaces, a tagged database and bucket
outside the clusters): exact conservation per origin line and per day, each policy's effect, a re-merge when a
policy changes (the day's fingerprint) and none when it does not, and a selector matching nothing named."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import pytest

from kubebill import pipeline
from kubebill.devtools.simulate import Scenario, simulate
from kubebill.devtools.simulate.model import (
    BUCKET_NAMESPACE,
    BUCKET_TAG,
    CLUSTER_TAG,
    DATABASE_NAMESPACE,
    NAMESPACE_TAG,
    SYSTEM_NAMESPACES,
    cluster_name,
)
from kubebill.layout import Layout
from kubebill.schema import COST_COLUMNS
from kubebill.settings import Settings
from kubebill.sinks import results
from kubebill.store.local import LocalStore

SCENARIO = Scenario(clusters=1, nodes=3, pods=12, days=1, seed=5)
PROVIDER = {"AWS": "aws", "Microsoft": "azure", "Google Cloud": "gcp"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    out = tmp_path_factory.mktemp("policies")
    simulate(out, SCENARIO)
    return LocalStore(out)


# the scenario's day, and the 1st of its month (the monthly lines)
DAYS = sorted({SCENARIO.end, SCENARIO.end.replace(day=1)})


def merge(store: LocalStore, **policies: Any) -> tuple[pipeline.MergeSummary, list[dict[str, Any]]]:
    settings = dataclasses.replace(Settings(store=str(store.root)), **policies)
    summary = pipeline.merge(store, settings)
    return summary, results.read_days(store, Layout(), DAYS).to_pylist()


def per_line(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], list[float]]:
    """Σ of each cost column per origin bill line (estimates are no bill line)."""
    found: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0] * len(COST_COLUMNS))
    for row in rows:
        if row["x_K8sAllocation"] != "estimated":
            sums = found[(row["x_SourceKey"], row["x_SourceRowId"], row["ChargePeriodStart"])]
            for i, column in enumerate(COST_COLUMNS):
                sums[i] += row[column]
    return found


def assert_conserved(rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> None:
    """Every origin line sums to what it did with no policy, and so does the day, per cost column."""
    lines, expected = per_line(rows), per_line(base)
    assert lines.keys() == expected.keys()
    for key, sums in expected.items():
        assert lines[key] == pytest.approx(sums, rel=1e-9, abs=1e-12), key
    for i in range(len(COST_COLUMNS)):
        assert sum(s[i] for s in lines.values()) == pytest.approx(sum(s[i] for s in expected.values()), rel=1e-12)


def total(rows: list[dict[str, Any]], **where: Any) -> float:
    return sum(r["BilledCost"] for r in rows if all(r[k] == v for k, v in where.items()))


@pytest.fixture(scope="module")
def base(store: LocalStore) -> list[dict[str, Any]]:
    summary, rows = merge(store)
    assert summary.merged == DAYS
    return rows


def test_the_simulator_has_system_namespaces_and_tagged_resources(base: list[dict[str, Any]]) -> None:
    for provider in ("aws", "azure", "gcp"):
        namespaces = {r["x_K8sNamespace"] for r in base if r["x_K8sCluster"] == cluster_name(provider, 0)}
        assert set(SYSTEM_NAMESPACES) <= namespaces, provider
    tagged = [r for r in base if r["x_K8sAllocation"] == "not_kubernetes" and r["Tags"] and NAMESPACE_TAG in r["Tags"]]
    assert {PROVIDER.get(r["ProviderName"]) for r in tagged} == {"aws", "azure", "gcp"}
    assert all(DATABASE_NAMESPACE in r["Tags"] and CLUSTER_TAG in r["Tags"] for r in tagged)
    buckets = [r for r in base if r["Tags"] and BUCKET_TAG.replace("-", "_") in r["Tags"].replace("-", "_")]
    assert {PROVIDER.get(r["ProviderName"]) for r in buckets} == {"aws", "azure", "gcp"}


def test_idle_sharing(store: LocalStore, base: list[dict[str, Any]]) -> None:
    summary, rows = merge(store, idle_share="weighted")
    assert summary.merged == DAYS  # a changed policy re-merges the day
    assert_conserved(rows, base)
    for provider in ("aws", "azure", "gcp"):
        cluster = cluster_name(provider, 0)
        idle = total(base, x_K8sCluster=cluster, x_K8sAllocation="idle")
        assert idle > 0
        handed = sum(
            r["BilledCost"]
            for r in rows
            if r["x_K8sCluster"] == cluster and r["AllocatedMethodId"] == "idle-share-weighted"
        )
        assert handed == pytest.approx(idle, rel=1e-9)  # every node slice has a pod to hand its idle to
        assert total(rows, x_K8sCluster=cluster, x_K8sNamespace="__idle__") == pytest.approx(0.0, abs=1e-9)
    again, _ = merge(store, idle_share="weighted")
    assert again.days == again.merged == []  # the same policy: no day is due


def test_shared_namespaces_and_overhead(store: LocalStore, base: list[dict[str, Any]]) -> None:
    summary, rows = merge(
        store, shared_spread="even", shared_namespaces=("kube-system", "logging"), shared_labels=("team=platform",)
    )
    assert summary.merged == DAYS
    assert summary.unmatched == ["KUBEBILL_SHARED_NAMESPACES=logging"]
    assert_conserved(rows, base)
    for provider in ("aws", "azure", "gcp"):
        cluster = cluster_name(provider, 0)
        billed = [r for r in rows if r["x_K8sCluster"] == cluster and r["x_K8sAllocation"] != "estimated"]
        assert not [r for r in billed if r["x_K8sNamespace"] in (*SYSTEM_NAMESPACES, "__shared__")]
        shared = sum(
            r["BilledCost"]
            for r in base
            if r["x_K8sCluster"] == cluster
            and (r["x_K8sNamespace"] in SYSTEM_NAMESPACES or r["x_K8sNamespace"] == "__shared__")
            and r["x_K8sAllocation"] != "estimated"
        )
        received = [r for r in billed if r["AllocatedMethodId"] == "shared-even"]
        assert sum(r["BilledCost"] for r in received) == pytest.approx(shared, rel=1e-9)
        assert {r["x_K8sAllocation"] for r in received} == {"shared"}


def test_out_of_cluster_lines_by_tag(store: LocalStore, base: list[dict[str, Any]]) -> None:
    summary, rows = merge(store, namespace_tags=(NAMESPACE_TAG, BUCKET_TAG, "owner"), cluster_tags=(CLUSTER_TAG,))
    assert summary.merged == DAYS
    assert summary.unmatched == ["KUBEBILL_NAMESPACE_TAGS=owner"]
    assert_conserved(rows, base)
    for provider in ("aws", "azure", "gcp"):
        database = sum(
            r["BilledCost"]
            for r in base
            if PROVIDER.get(r["ProviderName"]) == provider
            and r["x_K8sAllocation"] == "not_kubernetes"
            and f'"{DATABASE_NAMESPACE}"' in (r["Tags"] or "")
        )
        received = [
            r
            for r in rows
            if PROVIDER.get(r["ProviderName"]) == provider
            and r["x_K8sNamespace"] == DATABASE_NAMESPACE
            and r["x_K8sAllocation"] == "external"
        ]
        assert database > 0
        assert sum(r["BilledCost"] for r in received) == pytest.approx(database, rel=1e-9)
        assert {(r["x_K8sCluster"], r["AllocatedMethodId"]) for r in received} == {
            (cluster_name(provider, 0), "namespace-tag")
        }
    # the bucket reaches analytics wherever it runs; untagged lines (tax, fees) stay outside every cluster
    has_analytics = any(r["x_K8sNamespace"] == BUCKET_NAMESPACE for r in base)
    assert any(r["x_K8sNamespace"] == BUCKET_NAMESPACE and r["x_K8sAllocation"] == "external" for r in rows) == (
        has_analytics
    )
    assert any(r["x_K8sAllocation"] == "not_kubernetes" for r in rows)
