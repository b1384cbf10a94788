"""Benchmark: `kubebill export` of one day of 50,000 allocations x 24 hourly steps from a loopback OpenCost.

Run from the repository root: `.venv/bin/python bench/export/run.py [--allocations N] [--steps-of 1h]`.
Prints wall time, rows/s, peak RSS (VmHWM) of the export process (a fresh child), of each of its parse
workers and of their sum (sampled every 50 ms), CPU time with and without the workers, and the body sizes.
Targets (issue 3): peak RSS <= 2x the response body size; >= 100,000 rows/s normalized and written.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.sources.generated import step_body  # noqa: E402
from tests.sources.replay import ReplayServer, Reply, Request  # noqa: E402

from kubebill.model import Window  # noqa: E402
from kubebill.settings import parse_duration  # noqa: E402

DAY = date(2025, 6, 17)
# what `kubebill export` loads before its first request: the CLI (every command module) and the export path
_STARTUP = "import kubebill.cli, kubebill.pipeline, kubebill.sources.fetch\nkubebill.cli.build_parser()\ncode = 0"


class TreeSampler:
    """Polls a process and its descendants (the parse workers): peak RSS of each, of the sum, and CPU time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.hwm_kib: dict[int, int] = {}
        self.cpu_ticks: dict[int, int] = {}
        self.peak_sum_kib = 0
        self.peak_pss_kib = 0  # pages shared by the forked workers counted once, as the pod's cgroup counts them
        self.pss_kib: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _tree(self, pid: int) -> list[int]:
        pids = [pid]
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            for child in task.read_text().split():
                pids += self._tree(int(child))
        return pids

    def _run(self) -> None:
        while not self.done.is_set():
            total = pss = 0
            try:
                pids = self._tree(self.pid)
            except OSError:
                pids = []
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text().splitlines()
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Vm")}
                total += int(fields.get("VmRSS", 0))
                own = _pss_kib(pid)
                pss += own
                self.pss_kib[pid] = max(self.pss_kib.get(pid, 0), own)
                self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), int(fields.get("VmHWM", 0)))
                self.cpu_ticks[pid] = int(stat[11]) + int(stat[12])  # utime + stime
            self.peak_sum_kib = max(self.peak_sum_kib, total)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            time.sleep(0.05)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def _pss_kib(pid: int) -> int:
    """Proportional set size: each shared page split among the processes that map it."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--allocations", type=int, default=50_000, help="allocations per step")
    parser.add_argument("--step", default="1h")
    parser.add_argument("--cpus", help="pin the export to these CPUs (taskset -c); one CPU: no workers")
    parser.add_argument("--workers", type=int, help="kubebill export --workers (default: the usable cores)")
    args = parser.parse_args()
    sizes: list[int] = []

    # every step's answer is made before the clock starts: the server only sends (as OpenCost's own work of
    # building the JSON is not the exporter's), about 0.7 s of CPU for the day instead of 4.5 s
    bodies = {
        window.to_opencost(): step_body(window, allocations=args.allocations)
        for window in Window.of_day(DAY).steps(parse_duration(args.step))
    }

    def route(request: Request) -> Reply:
        body = bodies[request.query["window"]]
        sizes.append(len(body))
        return Reply(body)

    server = ReplayServer(route=route)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as store:
            # VmHWM of the child's own address space: ru_maxrss would also count the pre-exec copy of this
            # (large) benchmark process, which Linux carries over exec
            child = (
                "import sys\nfrom kubebill.cli import main\ncode = main(sys.argv[1:])\n"
                "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
                "print('VmHWM_KiB', hwm, file=sys.stderr)\nsys.exit(code)"
            )
            # the image sets ARROW_DEFAULT_MEMORY_POOL=system (Dockerfile): freed Arrow memory goes back at once
            env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "system")}
            command = [
                *(["taskset", "-c", args.cpus] if args.cpus else []),
                sys.executable,
                "-c",
                child,
                "export",
                "--source=opencost",
                f"--url={server.url}",
                "--cluster=bench",
                f"--date={DAY}",
                f"--step={args.step}",
                f"--store={store}",
                *([f"--workers={args.workers}"] if args.workers else []),
            ]
            baseline = subprocess.run(
                [sys.executable, "-c", child.replace("code = main(sys.argv[1:])", _STARTUP)],
                capture_output=True,
                text=True,
                env=env,
            )
            baseline_kib = int(baseline.stderr.rsplit("VmHWM_KiB", 1)[1].split()[0])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            serving = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            sampler = TreeSampler(process.pid)
            stdout, stderr = process.communicate()
            wall = time.perf_counter() - started
            sampler.stop()
            done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
            peak_kib = int(done.stderr.rsplit("VmHWM_KiB", 1)[1].split()[0])
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            served = resource.getrusage(resource.RUSAGE_SELF)
            server_cpu = served.ru_utime + served.ru_stime - serving.ru_utime - serving.ru_stime
            cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
            written = sum(p.stat().st_size for p in Path(store).rglob("*.parquet"))
            import pyarrow.parquet as pq

            rows = sum(pq.ParquetFile(p).metadata.num_rows for p in Path(store).rglob("*.parquet"))
    finally:
        server.stop()
    peak = peak_kib * 1024
    largest = max(sizes)
    print(f"requests            {len(sizes)} (one per {args.step} step of {DAY})")
    print(f"rows written        {rows:,}")
    print(f"wall time           {wall:.2f} s")
    print(f"rows/s              {rows / wall:,.0f} (wall)")
    print(f"CPU time (export)   {cpu:.2f} s = {rows / cpu:,.0f} rows per CPU-second")
    print(f"response body       {largest / 1e6:.1f} MB per request, {sum(sizes) / 1e6:.1f} MB for the day")
    print(f"peak RSS (export)   {peak / 1e6:.1f} MB = {peak / largest:.2f}x one response body")
    base = baseline_kib * 1024
    print(f"  of which startup  {base / 1e6:.1f} MB (the CLI with every command module, the export path)")
    print(f"  export itself     {(peak - base) / 1e6:.1f} MB = {(peak - base) / largest:.2f}x one response body")
    workers = {pid: kib for pid, kib in sampler.hwm_kib.items() if pid != process.pid}
    tree_cpu = sum(sampler.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
    print(f"CPU time (all)      {tree_cpu:.2f} s with the workers = {rows / tree_cpu:,.0f} rows per CPU-second")
    print(f"CPU time (server)   {server_cpu:.2f} s in this process: the loopback OpenCost, sharing the cores")
    ticks = os.sysconf("SC_CLK_TCK")
    print(f"  CPU pid {process.pid:<6}    {sampler.cpu_ticks.get(process.pid, 0) / ticks:.2f} s (the export process)")
    for pid, kib in sorted(workers.items()):
        print(f"  peak RSS pid {pid:<6} {kib * 1024 / 1e6:.1f} MB = {kib * 1024 / largest:.2f}x (fork server / worker)")
        print(f"  CPU pid {pid:<6}    {sampler.cpu_ticks.get(pid, 0) / ticks:.2f} s")
    summed = sampler.peak_sum_kib * 1024
    print(f"peak RSS, sum       {summed / 1e6:.1f} MB = {summed / largest:.2f}x, the export and its workers (sampled)")
    for pid, kib in sorted(sampler.pss_kib.items()):
        print(f"  peak PSS pid {pid:<6} {kib * 1024 / 1e6:.1f} MB")
    pss = sampler.peak_pss_kib * 1024
    print(f"peak PSS, sum       {pss / 1e6:.1f} MB = {pss / largest:.2f}x, shared pages counted once (sampled)")
    print(f"parquet written     {written / 1e6:.1f} MB")
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"measured            {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cores} cores, load average {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
