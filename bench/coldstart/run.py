"""Cold start of the function entry points, and the size of each cloud's deployable artifact.

    .venv/bin/python bench/coldstart/run.py [--runs 5] [--skip-aws-build]

For each cloud, in a fresh interpreter per run (median of `--runs`):
- `import`: importing the entry module (what the platform does before the first event); target <= 1.0 s;
- `+ core`: that, then every kubebill module a merge, export or metrics call loads (pyarrow, duckdb,
  readers, engine, sinks): the rest of a cold first event's import cost.
Both run with `import pandas` made to fail, as in the artifacts (pandas is left out of them): a kubebill
module on the function path that needed pandas would make this benchmark fail.
Then `kubebill package` for each cloud, printing unzipped (and zipped) sizes; Lambda allows 250 MB unzipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = {
    "aws": ("functions/aws", "handler"),
    "azure": ("functions/azure", "function_app"),
    "gcp": ("functions/gcp", "main"),
}
TARGET_SECONDS = 1.0
# Modules the CLI/build use but no function call does.
NOT_ON_THE_FUNCTION_PATH = (
    "kubebill.cli",
    "kubebill.commands",
    "kubebill.devtools.packaging",
    "kubebill.devtools.simulate",
)

_PROBE = """
import sys, time, json, pkgutil, importlib
sys.path.insert(0, {folder!r})
class NoPandas:  # as in the artifacts: pandas is left out, so any `import pandas` fails
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NoPandas())
started = time.perf_counter()
importlib.import_module({module!r})
entry = time.perf_counter() - started
if {core}:
    import kubebill
    for info in pkgutil.walk_packages(kubebill.__path__, "kubebill."):
        if not info.name.startswith({skip!r}):
            importlib.import_module(info.name)
    import pyarrow.parquet, duckdb
total = time.perf_counter() - started
print(json.dumps({{"entry": entry, "total": total}}))
"""


def probe(cloud: str, *, core: bool) -> dict[str, float]:
    folder, module = ENTRY[cloud]
    code = _PROBE.format(folder=str(ROOT / folder), module=module, core=core, skip=NOT_ON_THE_FUNCTION_PATH)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def cold_starts(runs: int) -> None:
    print(f"cold start, fresh interpreter per run, median of {runs} (target: import <= {TARGET_SECONDS:.1f} s)")
    print(f"{'cloud':6} {'import s':>9} {'process s':>10} {'+ core s':>9}  verdict")
    for cloud in ENTRY:
        plain = [probe(cloud, core=False) for _ in range(runs)]
        full = [probe(cloud, core=True) for _ in range(runs)]
        entry = statistics.median(float(r["entry"]) for r in plain)
        process = statistics.median(float(r["process"]) for r in plain)
        total = statistics.median(float(r["total"]) for r in full)
        verdict = "ok" if entry <= TARGET_SECONDS else "OVER TARGET"
        print(f"{cloud:6} {entry:9.3f} {process:10.3f} {total:9.3f}  {verdict}")


def sizes(skip_aws: bool) -> None:
    sys.path.insert(0, str(ROOT / "core"))
    from kubebill.devtools import packaging

    print("\nartifact sizes (kubebill package)")
    with tempfile.TemporaryDirectory() as out:
        for cloud in packaging.CLOUDS:
            if cloud == "aws" and skip_aws:
                print("aws    skipped (--skip-aws-build)")
                continue
            started = time.perf_counter()
            for artifact in packaging.build(cloud, Path(out)):
                zipped = f", {artifact.zipped_bytes / 2**20:6.1f} MB zipped" if artifact.zipped_bytes else ""
                limit = f" ({artifact.unzipped_bytes / packaging.LAMBDA_LIMIT_BYTES:.0%} of Lambda's 250 MB)"
                print(
                    f"{cloud:6} {artifact.path.name:26} {artifact.unzipped_bytes / 2**20:6.1f} MB unzipped{zipped}"
                    + (limit if cloud == "aws" else "")
                )
            print(f"{'':6} built in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-aws-build", action="store_true", help="do not download Lambda wheels")
    args = parser.parse_args()
    cold_starts(args.runs)
    sizes(args.skip_aws_build)


if __name__ == "__main__":
    main()
