"""A million-row simulate streams to disk: run it in a child process and report its peak RSS (no timing asserts)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

# aws only: 2000 nodes × 10 days ≈ 1.08M CUR 2.0 rows (and 1.3M allocation rows).
ARGS = ["--provider", "aws", "--nodes", "2000", "--pods", "2000", "--days", "10", "--end", "2025-06-17"]
PEAK_RSS_LIMIT_MB = 1024


@pytest.mark.slow
def test_million_rows_stream_with_bounded_memory(tmp_path: Path) -> None:
    # the child's own peak (VmHWM of its memory after exec): getrusage's ru_maxrss keeps the peak of the memory it
    # was forked with, the pytest worker's, which a test before this one may have grown to gigabytes
    code = (
        "import sys\n"
        "from kubebill.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "hwm = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')][0]\n"
        "print('peak_rss_kb', hwm)\n"
        "sys.exit(rc)\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "simulate", "--out", str(tmp_path), *ARGS],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.rsplit("peak_rss_kb", 1)[1].split()[0]) / 1024
    bill_rows = sum(pq.read_metadata(p).num_rows for p in tmp_path.glob("billing/aws/*/data/*/*.parquet"))
    assert bill_rows >= 1_000_000
    print(
        f"\nsimulate {bill_rows} CUR 2.0 rows: {seconds:.1f} s, {bill_rows / seconds:,.0f} rows/s, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    assert peak_mb < PEAK_RSS_LIMIT_MB
