"""Metrics scrape benchmark: 10,000 pods of results, first (uncached) render, cached scrapes, peak RSS.

Run from the repository root: `.venv/bin/python bench/metrics/run.py [--pods 10000] [--days 3] [--scrapes 200]`.
The store is built here (the newest day split hourly to every pod; earlier days are copies, read only for
the month-to-date sums); the timing runs in a fresh child process so its peak RSS is the render's alone.
Targets (issue 6): ≤ 50 ms p99 per scrape and ≤ 200 MB RSS for 10,000 pods.

Then `kubebill serve` (issue 19) runs on the same store as a real server process: it is scraped over HTTP
(`--scrapes` times, plus as many /readyz probes) and its VmHWM is read before SIGTERM, so the figure is the
long-running server's whole peak (imports, first render, the cached exposition it keeps).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, statistics, sys, time
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore

store = LocalStore(sys.argv[1])
settings = Settings(tenant_id="bench", metrics_compat=True, metrics_top_pods=50)
started = time.perf_counter()
body, _ = metrics.render(store, settings)
first = time.perf_counter() - started
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    metrics.render(store, settings)
    times.append(time.perf_counter() - started)
times.sort()
print(json.dumps({
    "first_render_s": first,
    "p50_ms": statistics.median(times) * 1000,
    "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
    "max_ms": times[-1] * 1000,
    "body_bytes": len(body),
    "series": sum(1 for line in body.splitlines() if not line.startswith(b"#")),
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the (large) parent
    "peak_rss_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
}))
"""


def build_store(folder: Path, *, pods: int, days: int) -> tuple[int, float]:
    """Write `days` result days of `pods` pods (100 per namespace, 50 per node); returns (rows, MB) of a day."""
    from tests.sinks.factory import Shape, allocation_table, result_table, write_parquet

    from kubebill.layout import Layout
    from kubebill.store import LocalStore

    namespaces = max(1, pods // 100)
    shape = Shape(
        cluster="bench",
        namespaces=tuple(f"team-{i:03d}" for i in range(namespaces)),
        pods_per_namespace=pods // namespaces,
        nodes=max(1, pods // 50),
        budgets={"team-000": 100.0},
    )
    store, layout = LocalStore(folder), Layout()
    newest = date(2025, 6, 17)
    table = result_table(newest, shape)
    for offset in range(days):
        day = newest - timedelta(days=offset)
        write_parquet(store, layout.result_parquet_key(day), table)
        write_parquet(store, layout.allocation_key(shape.cluster, day, "opencost"), allocation_table(newest, shape))
    size = store.head(layout.result_parquet_key(newest)).size / 1e6
    return table.num_rows, size


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def serve_figures(store: str, scrapes: int) -> dict[str, float]:
    """Scrape a real `kubebill serve` process; its peak RSS after `scrapes` scrapes and readiness probes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubebill = Path(sys.executable).parent / "kubebill"
    env = {"PATH": str(Path(sys.executable).parent), "KUBEBILL_TENANT_ID": "bench", "KUBEBILL_METRICS_COMPAT": "true",
           "KUBEBILL_METRICS_TOP_PODS": "50", "ARROW_DEFAULT_MEMORY_POOL": "system"}  # fmt: skip
    server = subprocess.Popen(
        [str(kubebill), "serve", "--store", store, "--bind", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        started = time.perf_counter()
        body = urllib.request.urlopen(f"{url}/metrics", timeout=120).read()
        first = time.perf_counter() - started
        times = []
        for _ in range(scrapes):
            started = time.perf_counter()
            urllib.request.urlopen(f"{url}/metrics", timeout=60).read()
            times.append(time.perf_counter() - started)
            urllib.request.urlopen(f"{url}/readyz", timeout=60).read()
        times.sort()
        return {
            "first_s": first,
            "p50_ms": statistics.median(times) * 1000,
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
            "body_kib": len(body) / 1024,
            "peak_rss_mb": _peak_rss_mb(server.pid),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubebill-bench-metrics-") as tmp:
        started = time.perf_counter()
        rows, size = build_store(Path(tmp), pods=args.pods, days=args.days)
        print(f"store: {args.pods} pods, {args.days} days, {rows:,} result rows a day ({size:.1f} MB Parquet), "
              f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip
        child = subprocess.run(
            [sys.executable, "-c", CHILD, tmp, str(args.scrapes)], capture_output=True, text=True, check=True
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        served = serve_figures(tmp, args.scrapes)
    print(f"first (uncached) render: {figures['first_render_s']:.2f} s, {figures['series']} series, "
          f"{figures['body_bytes'] / 1024:.0f} KiB")  # fmt: skip
    print(f"cached scrape over {args.scrapes}: p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
          f"max {figures['max_ms']:.2f} ms (target p99 <= 50 ms)")  # fmt: skip
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB (target <= 200 MB)")
    print(f"kubebill serve over HTTP: first scrape {served['first_s']:.2f} s, {served['body_kib']:.0f} KiB; "
          f"{args.scrapes} cached scrapes p50 {served['p50_ms']:.2f} ms, p99 {served['p99_ms']:.2f} ms; "
          f"server peak RSS {served['peak_rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
