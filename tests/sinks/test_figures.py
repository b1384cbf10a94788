"""One definition of every figure: the same store read through every surface gives the same numbers.

Surfaces: the demo summary, `report` (table, CSV, JSON, HTML), the metrics, the dashboards' PromQL and the
alert rules' recording rules (in a real Prometheus scraping the metrics of that store). The window is the
newest day, the one the metrics describe.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from datetime import date
from decimal import Decimal
from types import ModuleType

import pytest

from kubebill import figures
from kubebill.cli import main
from kubebill.commands.demo import summary_table
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.sinks.results import read_days
from kubebill.store import LocalStore
from tests.conftest import ROOT
from tests.sinks.conftest import DAYS, Prometheus, wait_for

CLUSTERS = ("prod-eks", "dev-aks")
SHARES = tuple(figures.SHARES)


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build", ROOT / "infra" / "dashboards" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(capsys: pytest.CaptureFixture[str], store: LocalStore, *args: str) -> str:
    assert main(["report", "--store", str(store.root), "--window", "24h", *args]) == 0
    return capsys.readouterr().out


def _percent(value: float | None) -> str:
    return figures.percent_text(value)


def _prom(prometheus: Prometheus, expr: str) -> float:
    def ready() -> bool:
        return bool(prometheus.query(expr)["data"]["result"])

    wait_for(ready, timeout=30, what=expr)
    result = prometheus.query(expr)["data"]["result"]
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def test_every_surface_gives_the_same_figures(
    filled_store: LocalStore, prometheus: Prometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    store = filled_store
    newest = max(DAYS)
    # what each surface says, per cluster: {figure: "12.3%"} and savings
    seen: dict[str, dict[str, dict[str, str]]] = {c: {} for c in CLUSTERS}

    rows = list(csv.DictReader(io.StringIO(_report(capsys, store, "--by", "cluster", "--format", "csv"))))
    for r in rows:
        if r["cluster"] in CLUSTERS:
            shares = {f: _percent(float(r[f"{f}_share_of_cluster_cost"])) for f in SHARES}
            seen[r["cluster"]]["report csv"] = {**shares, "savings": r["savings"]}
    assert any(r["cluster"] == figures.OUTSIDE_CLUSTERS for r in rows)

    document = json.loads(_report(capsys, store, "--by", "cluster", "--format", "json"))
    for r in document["rows"]:
        cluster = r["group"]["cluster"]
        if cluster in CLUSTERS:
            shares = {f: _percent(r[f"{f}_share_of_cluster_cost"]) for f in SHARES}
            seen[cluster]["report json"] = {**shares, "savings": f"{Decimal(str(r['savings'])):.2f}"}

    table = _report(capsys, store, "--by", "cluster")
    assert all(figures.HEADERS[f].upper() in table for f in SHARES)
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0] in CLUSTERS:
            savings = cells[-4 - len(figures.RECEIVED_HEADERS)]  # own cost and received shares come between
            seen[cells[0]]["report table"] = {**dict(zip(SHARES, cells[-3:], strict=True)), "savings": savings}

    html = _report(capsys, store, "--by", "cluster", "--format", "html")
    for cluster in CLUSTERS:
        match = re.search(rf"<tr><td>{cluster}</td><td>\w+</td>((?:<td class=\"n\">[^<]*</td>)+)</tr>", html)
        assert match, cluster
        cells = re.findall(r"<td class=\"n\">([^<]*)</td>", match.group(1))
        savings = cells[3].replace(",", "")
        seen[cluster]["html table"] = {**dict(zip(SHARES, cells[-3:], strict=True)), "savings": savings}
    assert figures.HEADERS["outside"] in html

    summary = summary_table(read_days(store, Layout(), [newest]))
    for line in summary.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) > 2 and cells[1] in CLUSTERS and cells[2] == "(all)":
            savings = cells[6].split()[0].replace(",", "")
            seen[cells[1]]["demo summary"] = {**dict(zip(SHARES, cells[-3:], strict=True)), "savings": savings}
    assert figures.OUTSIDE_CLUSTERS in summary

    body, _ = metrics.render(store, Settings(tenant_id="acme", metrics_compat=True, metrics_top_pods=5))
    text = body.decode()
    for cluster in CLUSTERS:
        shares = {}
        for f in SHARES:
            match = re.search(
                rf'^{figures.SHARE_METRIC}{{cluster="{cluster}",cost_type="billed",currency="\w+",figure="{f}",'
                rf'tenant_id="acme"}} (\S+)$',
                text,
                re.MULTILINE,
            )
            assert match, (cluster, f)
            shares[f] = _percent(float(match.group(1)))
        savings = sum(
            float(v)
            for v in re.findall(rf'^kubebill_namespace_savings_cost{{cluster="{cluster}",[^}}]*}} (\S+)$', text, re.M)
        )
        seen[cluster]["metrics"] = {**shares, "savings": f"{savings:.2f}"}

    build = _build()
    for cluster in CLUSTERS:
        sel = f'tenant_id=~".*", cluster=~"{cluster}", cost_type="billed"'
        seen[cluster]["dashboards"] = {
            f: _percent(_prom(prometheus, figures.promql_share(f, sel))) for f in ("idle", "unallocated")
        } | {"shared": _percent(_prom(prometheus, figures.promql_share("shared", sel)))}
        rules = {
            f: _percent(_prom(prometheus, f'kubebill:cluster_{f}:share{{cluster="{cluster}", cost_type="billed"}}'))
            for f in SHARES
        }
        seen[cluster]["alert rules"] = rules
    overview = json.loads(build.render("kubebill-overview.json"))
    titles = {p["title"] for p in overview["panels"]}
    assert {figures.HEADERS["idle"], figures.HEADERS["unallocated"]} <= titles

    for cluster, by_surface in seen.items():
        assert len(by_surface) == 8, (cluster, sorted(by_surface))
        reference = by_surface["report csv"]
        assert reference["idle"] not in ("", "0.0%"), reference  # the fixture has idle and shared cost
        for surface, values in by_surface.items():
            for name, value in values.items():
                assert value == reference[name], (cluster, surface, name, value, reference[name])


def test_month_conversion_is_the_same_everywhere(
    filled_store: LocalStore, prometheus: Prometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(
        _report(capsys, filled_store, "--by", "cluster,namespace", "--format", "json", "--cost", "effective")
    )
    row = next(r for r in document["rows"] if r["group"] == {"cluster": "prod-eks", "namespace": "checkout"})
    expected = figures.monthly_run_rate(float(row["effective_exact"]) / 24)
    recorded = _prom(
        prometheus,
        'kubebill:namespace_cost:monthly_run_rate{cluster="prod-eks", namespace="checkout", cost_type="effective"}',
    )
    assert recorded == pytest.approx(expected)
    panel = next(
        p for p in json.loads(_build().render("kubebill-namespace.json"))["panels"] if "run-rate" in p["title"]
    )
    expr = panel["targets"][0]["expr"]
    for name, value in {"tenant_id": ".*", "cluster": "prod-eks", "namespace": "checkout", "currency": "USD"}.items():
        expr = expr.replace(f"${name}", value)
    expr = expr.replace("$cost_type", "effective")
    assert _prom(prometheus, expr) == pytest.approx(expected)
    assert figures.month_end_forecast(100.0, 10.0, date(2025, 6, 17)) == 100.0 + 10.0 * 13


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [(0.125, "USD", "0.12"), (0.135, "USD", "0.14"), (-0.001, "USD", "0.00"), (1234.5, "JPY", "1234"),
     (1.0005, "KWD", "1.000"), (269.1099999999981, "EUR", "269.11")],
)  # fmt: skip
def test_money_is_half_even_to_the_minor_unit(value: float, currency: str, text: str) -> None:
    assert figures.money_text(value, currency) == text
    assert figures.percent_text(-0.00001) == "0.0%" and figures.percent_text(None) == ""
