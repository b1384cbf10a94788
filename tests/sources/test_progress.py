"""Progress stays quiet in logs: one line per phase (the terminal bar: test_export_cli)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from kubebill.layout import Layout
from kubebill.store import LocalStore
from tests.sinks.factory import Shape, allocation_table, write_parquet
from tests.sources.replay import ReplayServer
from tests.sources.test_export_cli import generated


def _export(
    server: ReplayServer, store: Path, *extra: str, stderr: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "export", "--url", server.url, "--cluster", "c1", "--from",
         "2024-03-18", "--to", "2024-03-19", "--step", "6h", "--workers", "1", "--store", str(store), *extra],
        stdout=subprocess.PIPE, stderr=stderr if stderr is not None else subprocess.PIPE, text=True, timeout=120,
    )  # fmt: skip


def test_export_logs_one_json_line_per_phase(server: ReplayServer, tmp_path: Path) -> None:
    server.route = generated  # type: ignore[assignment]
    result = _export(server, tmp_path, "--log-format", "json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    phases = [line for line in lines if "phase" in line]
    assert [(p["phase"], p["items"]) for p in phases] == [("export 2 day(s)", 8)]  # 2 days × 4 steps of 6 h
    assert "\r" not in result.stderr


def test_merge_of_several_days_logs_its_phase(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for day in (date(2025, 6, 15), date(2025, 6, 16), date(2025, 6, 17)):  # allocations, no bill yet
        write_parquet(store, Layout().allocation_key("c1", day, "opencost"), allocation_table(day, Shape()))
    result = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "merge", "--store", str(tmp_path), "--log-format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    phases = [json.loads(line) for line in result.stderr.splitlines() if '"phase"' in line]
    assert [(p["phase"], p["items"]) for p in phases] == [("merge 3 day(s)", 3)]
