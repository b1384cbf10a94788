"""The HTML report in a real headless Chromium: no console message, every chart drawn, a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
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


def check_page(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(the page's own chart check, console messages) after the page ran in Chromium."""
    result = chromium(page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    state = re.search(r'<body[^>]*data-charts="([^"]*)"', result.stdout)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return (state.group(1) if state else "script did not run"), console


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    tables = [result_table(day, HOT, COLD) for day in DAYS]
    return report.write_html_report(folder / "report.html", pa.concat_tables(tables), title="kubebill test report")


def test_report_renders_every_chart_without_console_messages(page: Path, tmp_path: Path) -> None:
    state, console = check_page(page, tmp_path)
    assert console == []
    assert state == "ok"


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
    html = page.read_text()
    noisy = tmp_path / "noisy.html"
    noisy.write_text(html.replace("<script>", "<script>console.error('broken chart');", 1))
    _, console = check_page(noisy, tmp_path)
    assert any("broken chart" in line for line in console)
    empty = tmp_path / "empty.html"
    blank = '<svg class="chart" id="blank" viewBox="0 0 10 10"><rect class="mark" width="0" height="0"/></svg>'
    empty.write_text(html.replace("<h2>Cost by", blank + "<h2>Cost by"))
    state, console = check_page(empty, tmp_path)
    assert state == "empty:blank" and console == []
