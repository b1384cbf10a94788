"""Before/after pairs of kubebill's merge on one generated day, alternating builds, with the references between.

    .venv/bin/python bench/merge/pairs.py --before DIR [--rows 1000000] [--pairs 3] [--engines duckdb-result,sqlite]
                                          [--sqlite-runs 1] [--memory-limit 1GB]

DIR is another checkout with its own `.venv` (`git worktree add --detach DIR <commit> && (cd DIR && bash .ci/setup)`).
The day is generated once (bench/merge/run.py's `generate`); each kubebill run gets a fresh copy of it (a merge writes
its result and state into the store) and runs as `run.py --child kubebill` of its own build, in a fresh process.
The references (`--engines`, this tree's run.py) run once per pair after the two builds, SQLite only in the first
`--sqlite-runs` pairs. Prints one line per run (seconds, peak RSS, host load) and the ratios per pair.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import generate  # noqa: E402


def child(python: str, script: Path, engine: str, root: Path, env: dict[str, str]) -> dict[str, float]:
    """One engine's run in a fresh process: its figures, with `cpu_seconds` (user + system of the child, all threads:
    on a shared host the robust figure, where wall seconds follow the others' load)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [python, str(script), "--child", engine, str(root)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{engine} ({script}) failed: {done.stderr.strip()[-800:]}")
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return dict(json.loads(done.stdout.strip().splitlines()[-1])) | {"cpu_seconds": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a checkout of the build to compare, with its own .venv")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--engines", default="duckdb-result,sqlite", help="references run once per pair")
    parser.add_argument("--sqlite-runs", type=int, default=1, help="pairs that also run SQLite (it is slow)")
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args()
    before = Path(args.before).resolve()
    builds = {
        "before": (str(before / ".venv" / "bin" / "python"), before / "bench" / "merge" / "run.py"),
        "after": (sys.executable, HERE / "run.py"),
    }
    env = dict(os.environ, KUBEBILL_MEMORY_LIMIT=args.memory_limit, KUBEBILL_LOG_LEVEL="warning")
    env["KUBEBILL_RESULT_CSV"] = "off"
    with tempfile.TemporaryDirectory(prefix="kubebill-bench-pairs-") as folder:
        data = Path(folder) / "data"
        shape = generate(data, args.rows)
        print(f"{shape['bill_rows']:,} bill lines, {shape['allocation_rows']:,} allocation rows", flush=True)
        for pair in range(args.pairs):
            seconds: dict[str, float] = {}
            order = ("before", "after") if pair % 2 == 0 else ("after", "before")
            for build in order:
                root = Path(folder) / f"store-{build}-{pair}"
                shutil.copytree(data, root)
                python, script = builds[build]
                found = child(python, script, "kubebill", root, env)
                shutil.rmtree(root)
                seconds[build] = found["seconds"]
                print(
                    f"pair {pair + 1} kubebill {build:<7} {found['seconds']:7.1f} s  {found['cpu_seconds']:6.1f} CPU s"
                    f"  {found['rows_out']:>10,} rows"
                    f"  peak {found['peak_rss_mb']:6.0f} MB  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            for engine in args.engines.split(","):
                if not engine or (engine == "sqlite" and pair >= args.sqlite_runs):
                    continue
                found = child(sys.executable, HERE / "run.py", engine, data, env)
                seconds[engine] = found["seconds"]
                extra = f"  (writes alone {found['writes_seconds']:.1f} s)" if "writes_seconds" in found else ""
                print(
                    f"pair {pair + 1} {engine:<16} {found['seconds']:7.1f} s  {found['cpu_seconds']:6.1f} CPU s"
                    f"  {found['rows_out']:>10,} rows"
                    f"  peak {found['peak_rss_mb']:6.0f} MB  load {os.getloadavg()[0]:.1f}{extra}",
                    flush=True,
                )
            ratios = [f"after/before {seconds['after'] / seconds['before']:.2f}"]
            for engine in ("duckdb-result", "sqlite"):
                if engine in seconds:
                    ratios.append(
                        f"{engine}: before {seconds[engine] / seconds['before']:.2f}×,"
                        f" after {seconds[engine] / seconds['after']:.2f}×"
                    )
            print(f"pair {pair + 1} " + "; ".join(ratios), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
