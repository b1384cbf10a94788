"""Peak memory of a merge of the AKS tool's case: its own sample (Azure/AKS cost-analysis-export testdata, in
../shared/data/external/aks) scaled to ~4.8k Cost Management lines against ~113k agent splits, merged with no
KUBEBILL_MEMORY_LIMIT set, so the session's platform default applies.

    .venv/bin/python bench/merge/aks.py [--copies 170] [--fan-out 16] [--csv off,month] [--src DIR] [--runs 3]

Each of the sample's 6 resources is copied `--copies` times under new names (in the agent's answer and in every
bill row naming it) and each split becomes `--fan-out` splits of the same total fraction. The export runs once;
each merge runs in a fresh child process and prints its wall time and peak RSS (VmHWM). `--src` points the child
at another kubebill source tree (a `core` folder, e.g. `git archive <commit> core | tar -x -C DIR`), to compare
builds on the same store, alternating.
"""

from __future__ import annotations

import argparse
import csv
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

DAY = date(2025, 6, 17)
CLUSTER = "akhantimirov-aks"
EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "external" / "aks"


def scale(copies: int, fan_out: int) -> tuple[bytes, bytes, int, int]:
    """The agent's answer and the Cost Management CSV, scaled; with their split and bill line counts."""
    answer = json.loads((EXTERNAL / "cost-analysis.json").read_text())
    text = (EXTERNAL / "cost-management-export.csv").read_text(encoding="utf-8-sig")
    header, *rows = text.splitlines(keepends=True)
    tokens = sorted({r["ID"].rsplit("/", 1)[1] for r in answer["Resources"]}, key=len, reverse=True)
    pattern = re.compile("|".join(f"({re.escape(t)})(?![\\w.-])" for t in tokens), re.IGNORECASE)
    resources, lines = [], []
    for copy in range(copies):

        def renamed(value: str, copy: int = copy) -> str:
            return pattern.sub(lambda m: f"{m[0]}c{copy}", value)

        for resource in answer["Resources"]:
            splits = [
                {**s, "Fraction": s["Fraction"] / fan_out, "SplitKey": {**s["SplitKey"], "object_name": f"{name}-{k}"}}
                for s in resource["Splits"]
                for k in range(fan_out)
                for name in [s["SplitKey"].get("object_name", "")]
            ]
            resources.append({**resource, "ID": renamed(resource["ID"]), "Splits": splits})
        lines += [renamed(row) for row in rows]
    body = json.dumps({**answer, "Resources": resources}).encode()
    bill = ("\ufeff" + header + "".join(lines)).encode()
    assert len(list(csv.reader(io.StringIO(bill.decode("utf-8-sig"))))) == len(lines) + 1
    return body, bill, sum(len(r["Splits"]) for r in resources), len(lines)


def export(root: Path, body: bytes) -> None:
    """The scaled answer served on 127.0.0.1 for kubebill's export of the day."""
    from kubebill import pipeline
    from kubebill.settings import Settings
    from kubebill.store.local import LocalStore

    class Agent(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path.startswith("/resources/v1") else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Agent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        pipeline.export(LocalStore(root), Settings(store=str(root)), days=[DAY], source="aks", url=url, cluster=CLUSTER)
    finally:
        server.shutdown()


def child(root: Path) -> None:
    from kubebill import pipeline
    from kubebill.settings import Settings
    from kubebill.store.local import LocalStore

    started = time.monotonic()
    summary = pipeline.merge(LocalStore(root), Settings.from_env(), days=[DAY])
    seconds = time.monotonic() - started
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "rows": summary.rows, "peak_rss_mb": hwm / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=170)
    parser.add_argument("--fan-out", type=int, default=16)
    parser.add_argument("--csv", default="off,month", help="KUBEBILL_RESULT_CSV values to run (ignored by --src)")
    parser.add_argument("--src", default="", help="also run this kubebill source tree (its `core` folder)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return 0
    body, bill, splits, lines = scale(args.copies, args.fan_out)
    print(f"agent splits {splits:,}, bill lines {lines:,}, agent answer {len(body) / 1e6:.1f} MB")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEBILL_", "AWS_LAMBDA_"))}
    builds = [(f"this tree, KUBEBILL_RESULT_CSV={mode}", {"KUBEBILL_RESULT_CSV": mode}) for mode in args.csv.split(",")]
    if args.src:
        builds.append((f"--src {args.src}", {"PYTHONPATH": str(Path(args.src) / "core")}))
    with tempfile.TemporaryDirectory(prefix="kubebill-bench-aks-") as folder:
        root = Path(folder)
        export(root, body)
        (root / "billing" / "azure").mkdir(parents=True)
        (root / "billing" / "azure" / "cost-management-export.csv").write_bytes(bill)
        for run in range(args.runs):
            for name, env in builds:  # alternating, on the same store (each merge of the day starts afresh)
                for state in (root / "results").rglob("*"):
                    if state.is_file():
                        state.unlink()
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(root)],
                    env=base | {"KUBEBILL_LOG_LEVEL": "warning"} | env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode != 0:
                    print(f"run {run + 1} {name}: failed: {done.stderr.strip()[-400:]}")
                    continue
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    f"run {run + 1} {name:<42} {figures['seconds']:6.2f} s  {figures['rows']:>9,} rows"
                    f"  peak RSS {figures['peak_rss_mb']:7.0f} MB",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
