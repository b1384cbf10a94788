"""`kubebill simulate`: write synthetic allocation and native billing exports with ground truth."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kubebill.errors import InputError
from kubebill.model import parse_day, yesterday
from kubebill.settings import Settings

if TYPE_CHECKING:
    from kubebill.devtools.simulate import Scenario

HELP = "write synthetic allocation and native billing exports with ground truth"
PROVIDERS = ("aws", "azure", "gcp")  # kubebill.devtools.simulate.model.PROVIDERS, without importing pyarrow for --help


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="store folder to write into (required unless --serve)")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="instead of writing files, answer as one simulated cluster's OpenCost API on 127.0.0.1 until Ctrl-C",
    )
    parser.add_argument("--cluster", metavar="NAME", help="with --serve: the simulated cluster (default: the first)")
    parser.add_argument("--port", type=int, default=9003, help="with --serve: the port on 127.0.0.1 (0: any free)")
    parser.add_argument("--provider", choices=PROVIDERS, action="append", help="repeatable; default all three")
    parser.add_argument("--clusters", type=int, default=1, help="clusters per provider")
    parser.add_argument("--nodes", type=int, default=4, help="nodes per cluster")
    parser.add_argument("--pods", type=int, default=12, help="pods per cluster")
    parser.add_argument("--days", type=int, default=2, help="UTC days, ending --end")
    parser.add_argument("--end", metavar="YYYY-MM-DD", help="last UTC day (default: yesterday)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same bytes)")
    parser.add_argument(
        "--cloud-split",
        action="store_true",
        help="the clouds' own Kubernetes splits in the bills: AWS split cost allocation rows in the CUR 2.0, GKE "
        "cost allocation labels in the Google export (their truth in ground_truth_cloud_split.parquet)",
    )
    parser.add_argument(
        "--no-allocations", action="store_true", help="write no OpenCost exports (the agentless path alone)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kubebill.devtools.simulate import Scenario, simulate  # pyarrow: loaded only when simulating

    try:
        end = parse_day(args.end) if args.end else yesterday()
        scenario = Scenario(
            providers=tuple(dict.fromkeys(args.provider or PROVIDERS)),
            clusters=args.clusters,
            nodes=args.nodes,
            pods=args.pods,
            days=args.days,
            seed=args.seed,
            end=end,
            cloud_split=args.cloud_split,
            allocations=not args.no_allocations,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.serve:
        return _serve(scenario, args.cluster, args.port)
    if not args.out:
        raise InputError("--out DIR is required (or --serve)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {args.out}: expected a folder, found a file")
    started = time.perf_counter()
    written = simulate(out, scenario)
    seconds = time.perf_counter() - started
    for item in written:
        print(f"{item.rows:>10}  {item.key}")
    bill_rows = sum(w.rows for w in written if w.key.startswith("billing/"))
    print(f"wrote {len(written)} files under {out} ({bill_rows} bill rows) in {seconds:.1f} s")
    return 0


def _serve(scenario: Scenario, cluster: str | None, port: int) -> int:
    from kubebill.devtools.simulate import cluster_names, serve_opencost

    names = cluster_names(scenario)
    name = cluster or names[0]
    if name not in names:
        raise InputError(f"--cluster {name!r}: expected one of {', '.join(names)}")
    try:
        with serve_opencost(scenario, name, port=port) as url:
            first, last = scenario.day_list[0], scenario.day_list[-1]
            print(f"simulated OpenCost of {name} at {url} (days {first} to {last}); Ctrl-C stops it", flush=True)
            print(f"try: kubebill export --url {url} --from {first} --to {last} --store ./kubebill-data", flush=True)
            while True:
                time.sleep(3600)
    except OSError as exc:
        raise InputError(f"--port {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
