"""The exposition, the dashboards and the alert rules against a real Prometheus, promtool and Pushgateway."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.conftest import ROOT
from tests.sinks.conftest import RULES, Prometheus, wait_for

DASHBOARDS = sorted((ROOT / "infra" / "dashboards").glob("*.json"))
# what the test puts in for Grafana's template variables ($currency: the HOT cluster's)
VARIABLES = {"tenant_id": ".*", "cluster": ".*", "namespace": ".*", "currency": "USD", "cost_type": "billed"}


def _substitute(expr: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES[m.group(1)], expr)


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable of every dashboard."""
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.name}: {panel['title']} {target['refId']}", target["expr"]))
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                match = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
                assert match, f"{path.name}: variable {var['name']} is not label_values(metric, label)"
                found.append((f"{path.name}: ${var['name']}", f"group by ({match[2]}) ({match[1]})"))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule.get("alert") or rule["record"], rule["expr"]) for group in groups for rule in group["rules"]]


EXPRESSIONS = dashboard_expressions() + rule_expressions()


def test_dashboards_match_their_builder() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", ROOT / "infra" / "dashboards" / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert sorted(build.DASHBOARDS) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == build.render(path.name), f"{path.name} is stale: run infra/dashboards/build.py"
    assert RULES.read_text() == build.rules(), "the alert rules are stale: run infra/dashboards/build.py"


def test_every_dashboard_and_rule_is_covered() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert {"kubebill / Overview", "kubebill / Namespace", "kubebill / Efficiency"} <= titles
    assert {"kubebill / Spot and commitment savings", "kubebill / Month-end forecast"} <= titles
    alerts = {name for name, _ in rule_expressions()}
    assert {"KubebillNamespaceOverBudget", "KubebillIdleShareHigh", "KubebillMergeStale"} <= alerts
    assert "KubebillMergeFailing" in alerts
    assert len(EXPRESSIONS) > 40


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_expression_returns_data(prometheus: Prometheus, where: str, expr: str) -> None:
    answer = prometheus.query(_substitute(expr))
    assert answer["status"] == "success", f"{where}: {answer.get('error')}"
    assert answer["data"]["result"], f"{where}: no data for {_substitute(expr)}"
    for sample in answer["data"]["result"]:
        value = sample["value"][1] if "value" in sample else sample["values"][-1][1]
        assert value not in ("NaN", "+Inf", "-Inf"), f"{where}: {value}"


def test_rules_load_and_alerts_go_pending(prometheus: Prometheus) -> None:
    rules = requests.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    states = {r["name"]: r for g in rules for r in g["rules"]}
    assert all(rule["health"] in ("ok", "unknown") for rule in states.values()), states
    expected = {"KubebillNamespaceOverBudget", "KubebillIdleShareHigh", "KubebillMergeStale", "KubebillMergeFailing"}

    def alerts() -> list[dict[str, Any]]:
        return list(requests.get(f"{prometheus.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"])

    # rules evaluate every second; give a loaded machine a few rounds before comparing
    wait_for(lambda: {a["labels"]["alertname"] for a in alerts()} >= expected, timeout=30, what="the alerts")
    assert {alert["labels"]["alertname"] for alert in alerts()} == expected
    over = [a for a in alerts() if a["labels"]["alertname"] == "KubebillNamespaceOverBudget"]
    assert {a["labels"]["namespace"] for a in over} == {"checkout"}


def test_scraped_series_carry_tenant_and_values(prometheus: Prometheus) -> None:
    untagged = prometheus.query('count({job="kubebill", tenant_id!="acme", __name__!~"up|scrape_.*"})')
    assert untagged["data"]["result"] == []
    total = prometheus.query('kubebill_cluster_cost{cluster="prod-eks",component="total",cost_type="billed"}')
    # HOT: 2 nodes × 24 h × (idle 1.0 + pods 0.1..0.4) + per-hour PV/LB/NAT/EKS/unallocated lines
    pods = sum(0.1 * (1 + i % 4) for i in range(3)) * 3
    expected = 24 * (2 * 1.0 + pods + 0.01 + 0.005 + 0.025 + 0.045 + 0.10 + 0.015)
    assert float(total["data"]["result"][0]["value"][1]) == pytest.approx(expected)
    compat = prometheus.query('kube_cost_cluster_hourly_usd{cluster="dev-aks"}')
    assert compat["data"]["result"][0]["metric"]["currency"] == "EUR"


def _promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, timeout=60)


@pytest.mark.parametrize("mode", ["total", "rate"])
@pytest.mark.parametrize("compat", [False, True])
def test_promtool_check_metrics(filled_store: LocalStore, mode: str, compat: bool) -> None:
    settings = Settings(tenant_id="acme", metrics_mode=mode, metrics_compat=compat, hash_pod_names=True)
    body, content_type = metrics.render(filled_store, settings)
    assert content_type.startswith("text/plain; version=0.0.4")
    result = _promtool("check", "metrics", stdin=body)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_promtool_check_metrics_with_no_results(tmp_path: Path) -> None:
    body, _ = metrics.render(LocalStore(tmp_path), Settings(metrics_compat=True))
    result = _promtool("check", "metrics", stdin=body)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"SUCCESS: 9 rules found" in result.stdout


def test_push_to_a_real_pushgateway(filled_store: LocalStore, pushgateway: str) -> None:
    settings = Settings(tenant_id="acme", pushgateway_url=pushgateway, metrics_compat=True)
    assert metrics.push(filled_store, settings) is True
    text = requests.get(f"{pushgateway}/metrics", timeout=10).text
    line = next(x for x in text.splitlines() if x.startswith("kubebill_cluster_cost{") and 'cluster="prod-eks"' in x)
    assert 'job="kubebill"' in line and 'tenant_id="acme"' in line
    assert "push_failure_time_seconds" in text
    failure = [x for x in text.splitlines() if x.startswith("push_failure_time_seconds{")]
    assert all(x.rstrip().endswith(" 0") for x in failure), failure
    assert metrics.push(filled_store, dataclasses.replace(settings, pushgateway_url=None)) is False
