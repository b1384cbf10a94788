"""Same seed, same bytes; another seed, other numbers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq

from kubebill.devtools.simulate import Scenario, Written, simulate
from tests.simulate.conftest import SMALL


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_same_seed_same_bytes(small: tuple[Path, list[Written]], tmp_path: Path) -> None:
    """Another process, another hash seed, the CLI instead of the API: byte-identical files."""
    out, _ = small
    args = [
        "--clusters",
        str(SMALL.clusters),
        "--nodes",
        str(SMALL.nodes),
        "--pods",
        str(SMALL.pods),
        "--days",
        str(SMALL.days),
        "--seed",
        str(SMALL.seed),
        "--end",
        SMALL.end.isoformat(),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "simulate", "--out", str(tmp_path), *args],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert digests(tmp_path) == digests(out)


def test_other_seed_other_bytes(small: tuple[Path, list[Written]], tmp_path: Path) -> None:
    out, _ = small
    other = replace(SMALL, seed=SMALL.seed + 1)
    simulate(tmp_path, other)
    mine, theirs = digests(out), digests(tmp_path)
    assert set(mine) != set(theirs) or all(mine[k] != theirs[k] for k in mine if k.endswith(".parquet"))
    a = pq.read_table(out / "ground_truth.parquet")
    b = pq.read_table(tmp_path / "ground_truth.parquet")
    assert not a.equals(b)


def test_one_provider_only(tmp_path: Path) -> None:
    written = simulate(tmp_path, Scenario(providers=("gcp",), nodes=1, pods=1, days=1, seed=3))
    assert {w.key.split("/")[1] for w in written if w.key.startswith("billing/")} == {"gcp"}
    assert pq.read_table(tmp_path / "ground_truth.parquet")["provider"].unique().to_pylist() == ["gcp"]
