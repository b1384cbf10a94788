"""`kubebill report` over a real local store: groups, windows, formats, privacy and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kubebill.cli import main
from kubebill.sinks import report
from kubebill.sinks.privacy import hash_name
from kubebill.store import LocalStore
from tests.sinks.conftest import COLD, DAYS, HOT
from tests.sinks.factory import fill_store, pod_name, result_table

JUNE = [date(2025, 5, 31), *DAYS]  # one day of May, to tell the month window from 7d


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("report"))
    fill_store(store, JUNE, HOT, COLD, allocations=False)
    return store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_by_namespace_sums_to_the_bill(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "namespace", "--window", "7d", "--format", "csv")
    assert code == 0
    rows = as_rows(out)
    expected = sum(pc.sum(result_table(day, HOT, COLD)["BilledCost"]).as_py() for day in DAYS)
    assert sum(float(r["billed"]) for r in rows) == pytest.approx(expected)  # 06-11..06-17: not 05-31
    groups = {(r["namespace"], r["currency"]) for r in rows}
    assert {("checkout", "USD"), ("web", "EUR"), ("__idle__", "USD"), ("__not_kubernetes__", "USD")} <= groups
    idle = next(r for r in rows if r["namespace"] == "__idle__" and r["currency"] == "USD")
    assert float(idle["idle_share_of_cluster_cost"]) == 1.0
    assert float(idle["savings"]) == pytest.approx(float(idle["list"]) - float(idle["effective"]), abs=0.01)
    outside = next(r for r in rows if r["namespace"] == "__not_kubernetes__")
    assert outside["idle_share_of_cluster_cost"] == ""  # no cluster cost: no share


def test_windows_are_relative_to_the_newest_result_day(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    def billed(window: str) -> float:
        code, out, _ = run(capsys, "--store", str(store.root), "--window", window, "--format", "json")
        assert code == 0
        document = json.loads(out)
        return sum(r["billed"] for r in document["rows"] if r["currency"] == "USD")

    one_day = pc.sum(result_table(DAYS[-1], HOT)["BilledCost"]).as_py()
    assert billed("24h") == pytest.approx(one_day)
    assert billed("30d") == pytest.approx(4 * one_day)
    assert billed("2025-06") == pytest.approx(3 * one_day)
    assert billed("2025-05") == pytest.approx(one_day)


@pytest.mark.parametrize("by", ["cluster", "controller", "pod", "label:team", "label:app"])
def test_every_grouping_keeps_the_total(store: LocalStore, by: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--store", str(store.root), "--by", by, "--window", "24h", "--format", "csv")
    assert code == 0
    rows = as_rows(out)
    assert sum(float(r["billed"]) for r in rows) == pytest.approx(
        pc.sum(result_table(DAYS[-1], HOT, COLD)["BilledCost"]).as_py(), abs=0.01 * len(rows)
    )
    groups = {r[by] for r in rows}
    expected = {
        "cluster": {"prod-eks", "dev-aks", "__not_kubernetes__"},
        "controller": {"checkout/deployment:checkout-api", "web/deployment:web-api"},
        "pod": {f"checkout/{pod_name('checkout', 2)}"},
        "label:team": {"team-0", "team-1", "__unallocated__"},
        "label:app": {"search-api", "web-api", "__unallocated__"},
    }[by]
    assert expected <= groups


def test_table_has_totals_per_currency(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "cluster", "--window", "24h")
    assert code == 0
    assert "CLUSTER" in out.splitlines()[2] and "IDLE % OF CLUSTER" in out and "SHARED % OF CLUSTER" in out
    totals = [line for line in out.splitlines() if line.startswith("TOTAL")]
    assert [line.split()[1] for line in totals] == ["EUR", "USD"]
    assert re.search(r"^prod-eks\s+USD\s+[\d.]+", out, re.MULTILINE)


def test_hashed_pod_names_in_reports(
    store: LocalStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEBILL_HASH_POD_NAMES", "true")
    for by in ("pod", "controller"):
        for fmt in ("csv", "json", "table", "html"):
            code, out, _ = run(capsys, "--store", str(store.root), "--by", by, "--window", "7d", "--format", fmt)
            assert code == 0
            assert "-api-7d9f8-" not in out, (by, fmt)
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "pod", "--format", "csv")
    groups = {r["pod"] for r in as_rows(out)}
    assert f"checkout/{hash_name(pod_name('checkout', 2))}" in groups  # the same hash as the metrics'
    assert "__idle__/__idle__" in groups


def test_html_to_a_file_is_self_contained(
    store: LocalStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "report.html"
    code, out, _ = run(capsys, "--store", str(store.root), "--format", "html", "--out", str(target))
    assert code == 0 and out.strip() == str(target)
    html = target.read_text()
    assert html.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", html)
    charts = ("kubernetes-daily", "group-trend", "top-groups", "own-received", "cluster-shares", "month-to-date",
              "outside-daily", "savings")  # fmt: skip
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * len(charts)
    for chart in charts:
        assert f'id="{chart}"' in html
    assert html.index('id="kubernetes-daily"') < html.index('id="outside-daily"')  # Kubernetes first
    assert "<h2>Cost by namespace</h2>" in html and "<td>checkout</td>" in html
    code, _, _ = run(capsys, "--store", str(store.root), "--by", "cluster", "--format", "html", "--out", str(target))
    html = target.read_text()
    assert code == 0 and "<h2>Cost by cluster</h2>" in html and "<td>dev-aks</td>" in html


def test_nothing_in_the_window_or_no_store_exits_2(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--store", str(store.root), "--window", "2024-01")
    assert code == 2 and out == "" and "no results for 2024-01" in err and "2025-05-31 to 2025-06-17" in err
    missing = store.root.parent / "no-results-here"
    code, _, err = run(capsys, "--store", str(missing), "--window", "7d", "--format", "html")
    assert code == 2 and f"store {missing} does not exist" in err
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--by", "team"], "namespace, cluster, node, provider, service, controller, pod, label:KEY, allocation"),
        (["--by", "label:"], "label:KEY"),
        (["--by", "label:a'b"], "label:KEY"),
        (["--by", "namespace,nod"], "'nod'"),
        (["--by", "label:no-such-label"], "no row of the window has the label 'no-such-label'"),
        (["--window", "1w"], "24h, 7d, 30d, YYYY-MM, YYYY-MM-DD"),
        (["--window", "2025-13"], "24h, 7d, 30d, YYYY-MM, YYYY-MM-DD"),
        (["--window", "2025-06-31"], "24h, 7d, 30d, YYYY-MM, YYYY-MM-DD"),
        (["--from", "2025-06-17", "--to", "2025-06-15"], "--from 2025-06-17 is after --to 2025-06-15"),
        (["--to", "2025-06-15"], "--to needs --from"),
        (["--currency", "GBP"], "--currency 'GBP': the window's results are in EUR, USD"),
        (["--top", "0"], "expected a whole number of groups"),
    ],
)
def test_bad_by_or_window_exits_2_naming_the_choices(store: LocalStore, args: list[str], named: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "report", "--store", str(store.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_html_report_api_for_the_demo(tmp_path: Path) -> None:
    table = result_table(DAYS[-1], HOT)
    html = report.html_report(table, title="demo <report>")
    assert "<title>demo &lt;report&gt;</title>" in html
    path = report.write_html_report(tmp_path / "demo" / "report.html", table)
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "No results" in report.html_report(table.slice(0, 0))


def test_a_day_and_a_range(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    def billed(*args: str) -> float:
        code, out, err = run(capsys, "--store", str(store.root), "--format", "json", "--currency", "USD", *args)
        assert code == 0, err
        return float(json.loads(out)["totals"][0]["billed_exact"])

    one_day = pc.sum(result_table(DAYS[-1], HOT)["BilledCost"]).as_py()
    assert billed("--window", "2025-06-16") == pytest.approx(one_day)
    assert billed("--from", "2025-05-31", "--to", "2025-06-15") == pytest.approx(2 * one_day)
    assert billed("--from", "2025-06-16") == pytest.approx(2 * one_day)  # to the newest day


def test_several_keys_and_the_new_ones(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--store", str(store.root), "--by", "cluster,namespace,allocation", "--window", "24h", "--format", "csv"
    )
    assert code == 0
    rows = as_rows(out)
    assert list(rows[0])[:4] == ["cluster", "namespace", "allocation", "currency"]
    keys = {(r["cluster"], r["namespace"], r["allocation"]) for r in rows}
    assert ("prod-eks", "checkout", "workload") in keys and ("prod-eks", "__idle__", "idle") in keys
    assert ("__not_kubernetes__", "__not_kubernetes__", "__not_kubernetes__") in keys
    for by, expected in (
        ("provider", {"AWS"}),
        ("service", {"Amazon Elastic Compute Cloud", "Amazon Simple Storage Service"}),
        ("node", {"ip-10-0-0-1.eu-west-1.compute.internal", "ip-10-0-1-1.eu-west-1.compute.internal"}),
    ):
        code, out, _ = run(capsys, "--store", str(store.root), "--by", by, "--window", "24h", "--format", "csv")
        assert code == 0 and expected <= {r[by] for r in as_rows(out)}


def test_top_n_with_other_cost_and_currency(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    base = ("--store", str(store.root), "--window", "24h", "--format", "json")
    code, out, _ = run(capsys, *base)
    everything = json.loads(out)
    code, out, _ = run(capsys, *base, "--top", "2", "--currency", "USD")
    assert code == 0
    document = json.loads(out)
    names = [r["group"]["namespace"] for r in document["rows"]]
    usd = [r for r in everything["rows"] if r["currency"] == "USD"]
    assert names == [usd[0]["group"]["namespace"], usd[1]["group"]["namespace"], "__other__"]
    assert (
        document["totals"][0]["billed_exact"]
        == next(t for t in everything["totals"] if t["currency"] == "USD")["billed_exact"]
    )
    code, out, _ = run(capsys, *base, "--cost", "effective")
    row = json.loads(out)["rows"][0]
    assert "effective" in row and "billed" not in row and "savings" not in row
    code, out, _ = run(capsys, "--store", str(store.root), "--window", "24h", "--cost", "list", "--top", "1")
    assert code == 0 and "LIST" in out and "BILLED" not in out and "__other__" in out


def test_money_rounded_half_even_no_negative_zero(store: LocalStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "pod", "--window", "7d", "--format", "csv")
    assert code == 0
    assert "-0.00" not in out and "-0.0%" not in out
    for r in as_rows(out):
        for column in ("billed", "effective", "list", "savings"):
            assert re.fullmatch(r"-?\d+\.\d\d", r[column]), r[column]
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "pod", "--window", "7d", "--format", "json")
    for r in json.loads(out)["rows"]:
        assert abs(r["billed"] - float(r["billed_exact"])) <= 0.005
        assert isinstance(r["billed_exact"], str)
    code, out, _ = run(capsys, "--store", str(store.root), "--by", "pod", "--window", "7d")
    assert "-0.00" not in out and "-0.0%" not in out
