"""On simulated data (kubebill simulate, merged): the budgets reach the metrics, the metrics agree with the
result Parquet, and the over-budget alert goes active in a real Prometheus and fires in promtool after its `for`."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from kubebill import figures, pipeline
from kubebill.cli import main
from kubebill.devtools.simulate import Scenario, simulate
from kubebill.devtools.simulate.budgets import LABELLED, OVER
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.sinks.conftest import RULES, Prometheus, running_prometheus, serving_metrics, wait_for

DAY = date(2025, 6, 17)
SCENARIO = Scenario(providers=("aws",), clusters=1, nodes=2, pods=12, days=1, seed=7, end=DAY)
SETTINGS = Settings(tenant_id="sim")
ALERT = "KubebillNamespaceOverBudget"
_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\} (\S+)$")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    out = tmp_path_factory.mktemp("simulated")
    simulate(out, SCENARIO)
    store = LocalStore(out)
    assert pipeline.merge(store, SETTINGS).merged
    return store


@pytest.fixture(scope="module")
def prometheus(store: LocalStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with (
        serving_metrics(store, SETTINGS) as endpoint,
        running_prometheus(endpoint.port, tmp_path_factory.mktemp("prometheus")) as server,
    ):
        yield server


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match[1] == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
            out.append((labels, float(match[3])))
    return out


def run_rates(store: LocalStore) -> dict[str, float]:
    """Each namespace's monthly run-rate of effective cost, from the result Parquet (figures.monthly_run_rate)."""
    table = pq.read_table(store.root / Layout().result_parquet_key(DAY))
    daily: dict[str, float] = {}
    for row in table.select(["x_K8sCluster", "x_K8sNamespace", "EffectiveCost"]).to_pylist():
        if row["x_K8sCluster"] is not None and row["x_K8sNamespace"]:
            daily[row["x_K8sNamespace"]] = daily.get(row["x_K8sNamespace"], 0.0) + row["EffectiveCost"]
    return {namespace: figures.monthly_run_rate(cost / 24) for namespace, cost in daily.items()}


@pytest.mark.slow
def test_budgets_reach_the_metrics_and_only_one_is_over(store: LocalStore) -> None:
    text = metrics.render(store, SETTINGS)[0].decode()
    budget = {labels["namespace"]: value for labels, value in samples(text, "kubebill_namespace_monthly_budget_cost")}
    # labelled namespaces, and the file's namespace and label selector (team=analytics)
    assert budget == {**{ns: float(v) for ns, v in LABELLED.items()}, "search": 300.0, "analytics": 300.0}
    rates = run_rates(store)
    assert {ns for ns, value in budget.items() if figures.over_budget(rates[ns] / 730, value)} == {OVER}
    # the origin split sums to each namespace's cost, as the Parquet has it
    own = {
        labels["namespace"]: value
        for labels, value in samples(text, "kubebill_namespace_origin_cost")
        if labels["cost_type"] == "effective"
    }
    for namespace, rate in rates.items():
        assert figures.monthly_run_rate(own[namespace] / 24) == pytest.approx(rate, rel=1e-9), namespace


@pytest.mark.slow
def test_the_report_splits_the_simulated_day_as_the_parquet_has_it(
    store: LocalStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--window", DAY.isoformat(), "--by", "namespace", "--format", "csv", "--cost", "effective",
                 "--store", str(store.root)]) == 0  # fmt: skip
    rows = {r["namespace"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    for namespace, rate in run_rates(store).items():
        row = rows[namespace]
        own, received = Decimal(row["own_cost"]), [Decimal(row[f"received_{f}_cost"]) for f in figures.RECEIVED]
        assert own + sum(received) == pytest.approx(Decimal(row["effective"]), abs=Decimal("0.03")), namespace
        assert float(row["effective"]) == pytest.approx(rate / figures.DAYS_PER_MONTH, abs=0.006), namespace


@pytest.mark.slow
def test_the_over_budget_alert_goes_active_in_prometheus_and_fires_after_its_for(
    store: LocalStore, prometheus: Prometheus, tmp_path: Path
) -> None:
    def alerts() -> list[dict[str, Any]]:
        found = requests.get(f"{prometheus.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return [a for a in found if a["labels"]["alertname"] == ALERT]

    wait_for(lambda: bool(alerts()), timeout=30, what=f"{ALERT} on simulated data")
    active = alerts()
    assert [a["labels"]["namespace"] for a in active] == [OVER]
    assert active[0]["state"] == "pending"  # `for: 1h`: promtool's clock shows it firing below
    value = float(active[0]["value"])
    assert value == pytest.approx(run_rates(store)[OVER], rel=1e-9)

    # the same series, as Prometheus scraped them, replayed for 90 minutes through promtool's rule tests
    series = []
    for name in ("kubebill_namespace_cost", "kubebill_cost_window_seconds", "kubebill_namespace_monthly_budget_cost"):
        answer = prometheus.query(name)["data"]["result"]
        assert answer, name
        for sample in answer:
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(sample["metric"].items()))
            series.append({"series": "{" + labels + "}", "values": f"{sample['value'][1]}x90"})
    firing = dict(active[0]["labels"])
    firing.pop("alertname")
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": ALERT, "exp_alerts": []},
                    {
                        "eval_time": "70m",
                        "alertname": ALERT,
                        "exp_alerts": [{"exp_labels": firing, "exp_annotations": active[0]["annotations"]}],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "over-budget.test.yml"
    path.write_text(json.dumps(tests))  # JSON is YAML
    result = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert f"{value:.2f} USD a month, over its budget" in active[0]["annotations"]["summary"]
