"""kubebill.sinks.metrics over real stores: values, modes, caching, privacy, compat names, no results."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from kubebill.cli import main
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.sinks.conftest import COLD, DAYS, HOT, stale_failing_health
from tests.sinks.factory import Shape, allocation_table, fill_store, pod_name, result_table, write_parquet

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>.*)\} (?P<value>\S+)$")


def parse(body: bytes) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"]))
        samples.append((match["name"], labels, float(match["value"])))
    return samples


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    found = [v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name} {labels}: {len(found)} samples"
    return found[0]


class CountingStore(LocalStore):
    """A LocalStore that counts whole-object reads (to see what a scrape re-reads)."""

    reads = 0

    def read_bytes(self, key: str) -> bytes:
        type(self).reads += 1
        return super().read_bytes(key)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    fill_store(store, DAYS, HOT, COLD)
    return store


def test_cluster_and_namespace_costs_match_the_newest_day(store: LocalStore) -> None:
    samples = parse(metrics.render(store, Settings(tenant_id="acme"))[0])
    table = result_table(DAYS[-1], HOT, COLD)
    prod = table.filter(pc.equal(table["x_K8sCluster"], "prod-eks"))
    for cost_type, column in (("billed", "BilledCost"), ("effective", "EffectiveCost"), ("list", "ListCost")):
        total = value(samples, "kubebill_cluster_cost", cluster="prod-eks", component="total", cost_type=cost_type)
        assert total == pytest.approx(pc.sum(prod[column]).as_py())
        parts = [
            v
            for n, ls, v in samples
            if n == "kubebill_cluster_cost"
            and ls["cluster"] == "prod-eks"
            and ls["cost_type"] == cost_type
            and ls["component"] != "total"
        ]
        assert sum(parts) == pytest.approx(total)
    checkout = prod.filter(pc.equal(prod["x_K8sNamespace"], "checkout"))
    ns_total = value(
        samples, "kubebill_namespace_cost", namespace="checkout", component="total", cost_type="billed", currency="USD"
    )
    assert ns_total == pytest.approx(pc.sum(checkout["BilledCost"]).as_py())
    # idle is its own component, whatever the idle rows paid for
    idle = value(samples, "kubebill_cluster_cost", cluster="prod-eks", component="idle", cost_type="billed")
    assert idle == pytest.approx(2 * 24 * HOT.node_idle_hourly_billed)
    assert value(samples, "kubebill_cluster_cost", cluster="dev-aks", component="total", cost_type="list") > 0
    assert {ls["currency"] for n, ls, _ in samples if n == "kubebill_cluster_cost" and ls["cluster"] == "dev-aks"} == {
        "EUR"
    }
    assert value(samples, "kubebill_cost_window_seconds") == 86400
    assert value(samples, "kubebill_results_available", source="results") == 1
    assert value(samples, "kubebill_result_objects") == 3


def test_every_sample_has_tenant_id(store: LocalStore) -> None:
    samples = parse(metrics.render(store, Settings(tenant_id="acme", metrics_compat=True))[0])
    assert samples and all(labels.get("tenant_id") == "acme" for _, labels, _ in samples)


def test_rate_mode_is_per_hour(store: LocalStore) -> None:
    total = parse(metrics.render(store, Settings())[0])
    rate = parse(metrics.render(store, Settings(metrics_mode="rate"))[0])
    labels = {"cluster": "prod-eks", "component": "cpu", "cost_type": "effective"}
    assert value(rate, "kubebill_cluster_cost", **labels) == pytest.approx(
        value(total, "kubebill_cluster_cost", **labels) / 24
    )
    assert value(rate, "kubebill_cost_window_seconds") == 3600
    # what the dashboards compute (amount / window seconds) is the same in both modes
    for name, labels_of in (("kubebill_namespace_cost", {"namespace": "search", "component": "total"}),):
        per_second = [
            value(samples, name, cost_type="billed", **labels_of) / value(samples, "kubebill_cost_window_seconds")
            for samples in (total, rate)
        ]
        assert per_second[0] == pytest.approx(per_second[1])


def test_savings_efficiency_budget_nodes_pvs_top_pods_month_to_date(store: LocalStore) -> None:
    samples = parse(metrics.render(store, Settings(metrics_top_pods=4))[0])
    # factory: spot (Dynamic) list = 3 × billed, committed list = 1.25 × billed and effective = 0.9 × billed
    spot = [v for n, ls, v in samples if n == "kubebill_namespace_savings_cost" and ls["pricing_category"] == "spot"]
    committed = [
        v for n, ls, v in samples if n == "kubebill_namespace_savings_cost" and ls["pricing_category"] == "committed"
    ]
    assert sum(spot) > 0 and sum(committed) > 0
    # factory allocations: cpu usage 0.25 × (1 + namespace index % 3) of 1 core requested, ram half
    assert value(samples, "kubebill_namespace_efficiency_ratio", namespace="search", resource="cpu") == 0.5
    assert value(samples, "kubebill_namespace_efficiency_ratio", namespace="search", resource="ram") == 0.5
    assert value(samples, "kubebill_cluster_efficiency_ratio", cluster="prod-eks", resource="total") == pytest.approx(
        0.5
    )
    assert value(samples, "kubebill_namespace_monthly_budget_cost", namespace="checkout") == 5.0
    nodes = [ls["node"] for n, ls, _ in samples if n == "kubebill_node_cost" and ls["cost_type"] == "billed"]
    assert len(nodes) == HOT.nodes + COLD.nodes
    assert value(samples, "kubebill_pv_cost", persistentvolume="pvc-data-0", cluster="prod-eks", cost_type="list") > 0
    pods = {ls["pod"] for n, ls, _ in samples if n == "kubebill_pod_cost"}
    assert len(pods) == 4
    assert pod_name("checkout", 2) in pods  # the most expensive pods of the factory are index 2 (0.3/h)
    mtd = value(samples, "kubebill_cluster_month_to_date_cost", cluster="prod-eks", cost_type="billed")
    day = value(samples, "kubebill_cluster_cost", cluster="prod-eks", component="total", cost_type="billed")
    assert mtd == pytest.approx(3 * day)


def test_hashed_pod_names_leave_no_pod_or_container_name(store: LocalStore) -> None:
    body = metrics.render(store, Settings(hash_pod_names=True, metrics_compat=True))[0].decode()
    assert "-api-7d9f8-" not in body
    hashed = set(re.findall(r'pod="(h-[0-9a-f]{12})"', body))
    assert hashed
    again = metrics.render(LocalStore(store.root), Settings(hash_pod_names=True, metrics_compat=True, tenant_id="x"))
    assert hashed == set(re.findall(r'pod="(h-[0-9a-f]{12})"', again[0].decode()))  # stable


def test_compat_families_by_their_old_names(store: LocalStore) -> None:
    samples = parse(metrics.render(store, Settings(metrics_compat=True, tenant_id="t"))[0])
    names = {n for n, _, _ in samples}
    for old in (
        "cloudtuner_kubecost_namespace_total_cost",
        "cloudtuner_kubecost_namespace_cpu_cost",
        "cloudtuner_kubecost_namespace_ram_cost",
        "cloudtuner_kubecost_namespace_pv_cost",
        "cloudtuner_kubecost_namespace_network_cost",
        "cloudtuner_kubecost_namespace_lb_cost",
        "cloudtuner_kubecost_namespace_cpu_efficiency",
        "cloudtuner_kubecost_cluster_total_cost",
        "cloudtuner_kubecost_cluster_total_efficiency",
        "cloudtuner_kubecost_pod_total_cost",
        "cloudtuner_kubecost_exporter_scrape_success",
        "cloudtuner_kubecost_exporter_scrape_errors_total",
        "kube_cost_pod_hourly_usd",
        "kube_cost_namespace_hourly_usd",
        "kube_cost_namespace_daily_usd",
        "kube_cost_node_hourly_usd",
        "kube_cost_cluster_hourly_usd",
        "kube_cost_pv_monthly_usd",
        "kube_cost_spot_savings_hourly_usd",
    ):
        assert old in names, old
    hourly = value(samples, "kube_cost_namespace_hourly_usd", namespace="search")
    assert value(samples, "kube_cost_namespace_daily_usd", namespace="search") == pytest.approx(hourly * 24)
    ours = value(samples, "kubebill_namespace_cost", namespace="search", component="total", cost_type="effective")
    assert hourly == pytest.approx(ours / 24)
    assert value(samples, "cloudtuner_kubecost_namespace_total_cost", namespace="search") == pytest.approx(ours)
    plain = {n for n, _, _ in parse(metrics.render(store, Settings())[0])}
    assert not any(n.startswith(("cloudtuner_", "kube_cost_")) for n in plain)


def test_scrapes_of_unchanged_results_are_cached_and_changes_are_seen(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "store")
    fill_store(store, DAYS[:2], HOT)
    settings = Settings(tenant_id="cache")
    first = metrics.render(store, settings)[0]
    CountingStore.reads = 0
    assert metrics.render(store, settings)[0] is first
    assert CountingStore.reads == 0
    # a new result day, a new allocation file, a health update: each is a new version
    fill_store(store, DAYS[2:], HOT)
    second = parse(metrics.render(store, settings)[0])
    assert value(second, "kubebill_result_objects") == 3
    CountingStore.reads = 0
    metrics.render(store, settings)
    assert CountingStore.reads == 0
    write_parquet(store, Layout().allocation_key(HOT.cluster, DAYS[2], "aks"), allocation_table(DAYS[2], HOT))
    metrics.render(store, settings)
    assert CountingStore.reads > 0
    stale_failing_health(store)
    health = parse(metrics.render(store, settings)[0])
    assert value(health, "kubebill_last_merge_success") == 0
    assert value(health, "kubebill_merge_failures_total") == 2
    assert value(health, "kubebill_bad_events_total") == 3
    assert value(health, "kubebill_last_merge_duration_seconds") == 12.5


def test_no_results_gives_a_valid_exposition_that_says_so(tmp_path: Path) -> None:
    body, content_type = metrics.render(LocalStore(tmp_path / "empty"), Settings(metrics_compat=True))
    samples = parse(body)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert value(samples, "kubebill_results_available", source="none") == 0
    assert value(samples, "kubebill_last_merge_timestamp_seconds") == 0
    assert value(samples, "kubebill_last_merge_success") == 0
    assert value(samples, "kubebill_merges_total") == 0
    assert not [n for n, _, _ in samples if n == "kubebill_cluster_cost"]


def test_allocations_without_a_bill_are_estimated_at_list_price(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    day = date(2025, 6, 17)
    write_parquet(store, Layout().allocation_key(HOT.cluster, day, "opencost"), allocation_table(day, HOT))
    samples = parse(metrics.render(store, Settings())[0])
    assert value(samples, "kubebill_results_available", source="allocations") == 0
    pods = HOT.pods_per_namespace * len(HOT.namespaces)
    total = {"cluster": HOT.cluster, "component": "total"}
    assert value(samples, "kubebill_cluster_cost", cost_type="list", **total) == pytest.approx(2.0 * pods)
    assert value(samples, "kubebill_cluster_cost", cost_type="billed", **total) == 0
    assert value(samples, "kubebill_cluster_cost", cost_type="list", cluster=HOT.cluster, component="cpu") == pods
    assert value(samples, "kubebill_cluster_efficiency_ratio", resource="cpu") == pytest.approx(0.5)


def test_metrics_command_prints_the_exposition(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# HELP kubebill_cluster_cost ")
    assert 'kubebill_cluster_cost{cluster="prod-eks"' in out


def test_label_values_are_escaped(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    odd = Shape(cluster="odd", namespaces=('we"ird\\ns',), pods_per_namespace=1, nodes=1)
    fill_store(store, [date(2025, 6, 17)], odd, allocations=False)
    body = metrics.render(store, Settings())[0].decode()
    assert 'namespace="we\\"ird\\\\ns"' in body


def test_metrics_and_report_over_every_store(any_store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Local, S3 (moto), Azure Blob (Azurite), GCS (fake-gcs-server): caching follows each backend's etags."""
    store = any_store.store
    fill_store(store, DAYS[:2], HOT)
    settings = Settings(tenant_id=any_store.name)
    first = metrics.render(store, settings)[0]
    assert metrics.render(store, settings)[0] is first
    fill_store(store, DAYS[2:], HOT)
    samples = parse(metrics.render(store, settings)[0])
    assert value(samples, "kubebill_result_objects") == 3
    assert value(samples, "kubebill_cost_window_start_timestamp_seconds") == pytest.approx(
        datetime(2025, 6, 17, tzinfo=UTC).timestamp()
    )
    assert main(["report", "--store", any_store.url, "--by", "cluster", "--window", "24h", "--format", "csv"]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    assert {row[0] for row in rows} == {"prod-eks", "__not_kubernetes__"}
