"""The HTML report in a real headless Chromium: no console message, every chart drawn with the data's groups
and dates, a screenshot."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kubebill.sinks import report
from tests.sinks.conftest import COLD, DAYS, HOT
from tests.sinks.factory import result_table

pytestmark = pytest.mark.slow

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("the Debian package chromium is missing: run .ci/setup")
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def rendered(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(the DOM after the page ran in Chromium, console messages)."""
    result = chromium(page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def check_page(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(the page's own chart check, console messages) after the page ran in Chromium."""
    dom, console = rendered(page, tmp_path)
    state = re.search(r'<body[^>]*data-charts="([^"]*)"', dom)
    return (state.group(1) if state else "script did not run"), console


def charts(dom: str) -> dict[str, dict[str, Any]]:
    """Per chart id: drawn marks (counted by the page's script), groups, dates, tick and legend texts."""
    out = {}
    for match in re.finditer(r"<svg ([^>]*)>(.*?)</svg>", dom, re.S):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))
        if "chart" not in attrs.get("class", ""):
            continue
        out[attrs["id"]] = {
            "drawn": int(attrs.get("data-drawn", "0")),
            "groups": [g for g in html.unescape(attrs.get("data-groups", "")).split("|") if g],
            "dates": [d for d in attrs.get("data-dates", "").split("|") if d],
            "ticks": re.findall(r'class="axis tick"[^>]*>([^<]*)<', match.group(2)),
            "legend": [html.unescape(t) for t in re.findall(r'class="axis legend"[^>]*>([^<]*)<', match.group(2))],
        }
    return out


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    tables = [result_table(day, HOT, COLD) for day in DAYS]
    return report.write_html_report(folder / "report.html", pa.concat_tables(tables), title="kubebill test report")


def test_report_renders_every_chart_without_console_messages(page: Path, tmp_path: Path) -> None:
    state, console = check_page(page, tmp_path)
    assert console == []
    assert state == "ok"


def test_charts_have_the_data_groups_and_dates(page: Path, tmp_path: Path) -> None:
    dom, _ = rendered(page, tmp_path)
    drawn = charts(dom)
    days = [d.isoformat() for d in DAYS]
    for chart in ("kubernetes-daily", "outside-daily", "group-trend", "cluster-shares"):
        assert drawn[chart]["drawn"] > 0 and drawn[chart]["dates"] == days, chart
        assert drawn[chart]["ticks"] == [f"Jun {d.day}" for d in DAYS], chart
    table = pa.concat_tables([result_table(day, HOT, COLD) for day in DAYS])
    usd = table.filter(pc.equal(table["BillingCurrency"], "USD"))
    totals: dict[str, float] = {}
    for row in usd.select(["x_K8sCluster", "x_K8sNamespace", "BilledCost"]).to_pylist():
        if row["x_K8sCluster"] is not None:  # what is outside clusters has its own chart
            name = row["x_K8sNamespace"] or "__unallocated__"
            totals[name] = totals.get(name, 0.0) + row["BilledCost"]
    largest = sorted(totals, key=lambda n: (-round(totals[n], 9), n))
    trend = drawn["group-trend"]["groups"]
    assert trend == [*largest[:6], *(["__other__"] if len(largest) > 6 else [])]  # the --by groups, largest first
    assert trend == drawn["group-trend"]["legend"]
    assert set(drawn["kubernetes-daily"]["groups"]) >= {"cpu", "ram", "idle", "shared", "pv"}
    assert drawn["outside-daily"]["groups"] == ["Amazon Simple Storage Service"]
    assert drawn["month-to-date"]["drawn"] > 0 and "month-end forecast" in drawn["month-to-date"]["legend"]
    assert "budget" in drawn["month-to-date"]["legend"]  # the HOT cluster's pods carry budgets
    assert drawn["top-groups"]["groups"][0] == trend[0]


def test_screenshot_is_not_empty(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,1400", "--hide-scrollbars")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank 1280×1400 PNG is a few KB; charts, tiles and a table are far more
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1400)


def test_the_checks_catch_console_errors_and_empty_charts(page: Path, tmp_path: Path) -> None:
    text = page.read_text()
    noisy = tmp_path / "noisy.html"
    noisy.write_text(text.replace("<script>", "<script>console.error('broken chart');", 1))
    _, console = check_page(noisy, tmp_path)
    assert any("broken chart" in line for line in console)
    empty = tmp_path / "empty.html"
    blank = '<svg class="chart" id="blank" viewBox="0 0 10 10"><rect class="mark" width="0" height="0"/></svg>'
    empty.write_text(text.replace("<h2>Cost by", blank + "<h2>Cost by"))
    state, console = check_page(empty, tmp_path)
    assert state == "empty:blank" and console == []
