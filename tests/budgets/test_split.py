"""Own cost and received shares: the report (table, CSV, JSON, HTML) and the metrics agree with the result
Parquet of a handmade day whose policy rows follow the contract (kubebill.figures)."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kubebill import figures
from kubebill.cli import main
from kubebill.layout import Layout
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.budgets.handmade import DAY, OWN, RECEIVED, write_day

FIELDS = {"own": "own_cost", "idle": "received_idle_cost", "shared": "received_shared_cost",
          "external": "received_external_cost"}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("split"))
    write_day(store)
    return store


def expected() -> dict[str, dict[str, Decimal]]:
    """Written out by hand: 24 hours of the handmade rows, rounded to cents."""
    out = {}
    for namespace, own in OWN.items():
        received = RECEIVED.get(namespace, {})
        out[namespace] = {"own": Decimal(f"{24 * own:.2f}")} | {
            figure: Decimal(f"{24 * received.get(figure, 0.0):.2f}") for figure in figures.RECEIVED
        }
    return out


def from_parquet(store: LocalStore) -> dict[tuple[str, str], float]:
    """(namespace, origin) → billed, read from the result file row by row with figures.received."""
    sums: dict[tuple[str, str], float] = {}
    table = pq.read_table(store.root / Layout().result_parquet_key(DAY))
    for row in table.select(["x_K8sCluster", "x_K8sNamespace", "x_K8sAllocation", "BilledCost"]).to_pylist():
        if row["x_K8sCluster"] is None:
            continue
        origin = figures.received(row["x_K8sNamespace"], row["x_K8sAllocation"]) or "own"
        key = (row["x_K8sNamespace"], origin)
        sums[key] = sums.get(key, 0.0) + row["BilledCost"]
    return sums


def report(capsys: pytest.CaptureFixture[str], store: LocalStore, *args: str) -> str:
    assert main(["report", "--window", DAY.isoformat(), "--store", str(store.root), *args]) == 0
    return capsys.readouterr().out


def test_csv_and_json_split_each_namespace_by_hand(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    rows = {r["namespace"]: r for r in csv.DictReader(io.StringIO(report(capsys, store, "--format", "csv")))}
    document = json.loads(report(capsys, store, "--format", "json", "--cost", "billed"))
    assert document["received_cost"] == "billed"
    by_json = {r["group"]["namespace"]: r for r in document["rows"]}
    for namespace, figures_ in expected().items():
        for figure, value in figures_.items():
            assert Decimal(rows[namespace][FIELDS[figure]]) == value, (namespace, figure)
            assert Decimal(by_json[namespace][f"{FIELDS[figure]}_exact"]).quantize(Decimal("0.01")) == value
        # own + received = the group's billed cost
        assert sum(figures_.values()) == Decimal(rows[namespace]["billed"])
    top = list(csv.DictReader(io.StringIO(report(capsys, store, "--format", "csv", "--top", "1"))))
    other = next(r for r in top if r["namespace"] == "__other__")  # own and received add up like the costs
    assert sum(Decimal(other[name]) for name in FIELDS.values()) == Decimal(other["billed"])
    assert Decimal(other["received_idle_cost"]) == expected()["search"]["idle"]
    total = document["totals"][0]
    assert Decimal(total["received_external_cost_exact"]).quantize(Decimal("0.01")) == Decimal("4.80")


def test_table_and_html_show_the_same_columns(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    table = report(capsys, store)
    assert all(header.upper() in table for header in figures.RECEIVED_HEADERS.values())
    checkout = next(line for line in table.splitlines() if line.startswith("checkout"))
    assert re.search(r"\b12\.00\s+2\.40\s+1\.20\s+4\.80\s", checkout), checkout
    html = report(capsys, store, "--format", "html")
    chart = re.search(r'<svg class="chart" id="own-received".*?</svg>', html, re.S)
    assert chart is not None
    parts = re.findall(r'data-part="([^"]+)"[^>]*><title>checkout [^:]+: ([\d.,]+) USD', chart.group(0))
    assert parts == [("own cost", "12"), ("received idle", "2.40"), ("received shared", "1.20"),
                     ("received external", "4.80")]  # fmt: skip
    assert '<td class="n">12.00</td><td class="n">2.40</td><td class="n">1.20</td>' in html


def test_metrics_agree_with_the_result_parquet(store: LocalStore) -> None:
    text = metrics.render(store, Settings(tenant_id="t"))[0].decode()
    found = {
        (m[0], m[1]): float(m[2])
        for m in re.findall(
            r'^kubebill_namespace_origin_cost\{cluster="prod-eks",cost_type="billed",currency="USD",'
            r'namespace="([^"]+)",origin="(\w+)",tenant_id="t"\} (\S+)$',
            text,
            re.M,
        )
    }
    parquet = from_parquet(store)
    assert found.keys() == parquet.keys()
    for key, value in parquet.items():
        assert found[key] == pytest.approx(value, rel=1e-12), key
    assert 'kubebill_namespace_monthly_budget_cost{cluster="prod-eks",currency="USD",namespace="checkout",' in text


def test_the_html_budget_is_the_metrics_budget(store: LocalStore, tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    assert main(["report", "--window", "2025-06", "--store", str(store.root), "--format", "html",
                 "--out", str(html)]) == 0  # fmt: skip
    assert re.search(r"monthly budgets \(namespaces\)</span><b>300\.00 USD", html.read_text())
