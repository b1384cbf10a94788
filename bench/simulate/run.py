"""Benchmark `kubebill simulate`: bill rows/s and peak RSS of fresh processes (prints figures, asserts nothing).

.venv/bin/python bench/simulate/run.py            # ~1M CUR 2.0 rows
.venv/bin/python bench/simulate/run.py --ten      # and ~10M rows
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

CHILD = (
    "import resource, sys\n"
    "from kubebill.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(rc)\n"
)
RUNS = {
    "1M": ["--provider", "aws", "--nodes", "2000", "--pods", "2000", "--days", "10"],
    "10M": ["--provider", "aws", "--clusters", "10", "--nodes", "2000", "--pods", "2000", "--days", "10"],
    "all clouds": ["--clusters", "4", "--nodes", "500", "--pods", "2000", "--days", "7"],
}


def measure(name: str, args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, "simulate", "--out", out, "--end", "2025-06-17", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        peak_mb = int(done.stdout.rsplit("peak_rss_kb", 1)[1].split()[0]) / 1024
        root = Path(out)
        rows = sum(pq.read_metadata(p).num_rows for p in root.glob("billing/**/*.parquet"))
        rows += sum(max(0, sum(1 for _ in p.open("rb")) - 1) for p in root.glob("billing/**/*.csv"))
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(
            f"{name:>10}: {rows:>11,} bill rows  {seconds:6.1f} s  {rows / seconds:>9,.0f} rows/s  "
            f"peak RSS {peak_mb:5.0f} MB  {size:6.0f} MiB on disk"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ten", action="store_true", help="also run the ~10M-row simulate")
    args = parser.parse_args()
    for name, run in RUNS.items():
        if name != "10M" or args.ten:
            measure(name, run)


if __name__ == "__main__":
    main()
