"""Store figures per backend on the local emulators: 20 MB round trip, 2500-key write+list, streaming memory.

Run from the repository root: .venv/bin/python bench/store/run.py [--stream-mb 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "core")]

from tests.emulators import SERVERS, new_store_url, stop  # noqa: E402

from kubebill.store import Store, open_store  # noqa: E402

MB = 1024 * 1024

# A fresh interpreter streams `mb` MB up from a generated file object and back down, then prints its peak
# RSS before and after: the difference is what streaming costs, whatever the object's size.
STREAM = """
import io, resource, sys
sys.path.insert(0, sys.argv[3])
from kubebill.store import open_store
class Pattern(io.RawIOBase):
    def __init__(self, size): self.left = size
    def readable(self): return True
    def readinto(self, buffer):
        n = min(len(buffer), self.left); buffer[:n] = b"k" * n; self.left -= n; return n
store = open_store(sys.argv[1]); size = int(sys.argv[2]) * 1024 * 1024
store.write("stream/warm", b"x"); store.read_bytes("stream/warm")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store.write("stream/big.bin", io.BufferedReader(Pattern(size)))
total = 0
with store.open("stream/big.bin") as stream:
    while chunk := stream.read(1024 * 1024): total += len(chunk)
assert total == size, total
print(before // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def round_trip(store: Store, source: Path, digest: str) -> tuple[float, float]:
    started = time.perf_counter()
    with source.open("rb") as stream:
        store.write("bench/20mb.bin", stream)
    written = time.perf_counter()
    check = hashlib.sha256()
    with store.open("bench/20mb.bin") as stream:
        while chunk := stream.read(MB):
            check.update(chunk)
    assert check.hexdigest() == digest
    return written - started, time.perf_counter() - written


def many_keys(store: Store, count: int) -> tuple[float, float]:
    keys = [f"many/object-{i:05d}" for i in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.write(key, b"x"), keys))
    written = time.perf_counter()
    assert sum(1 for _ in store.list("many/")) == count
    return written - started, time.perf_counter() - written


def measure(name: str, url: str, source: Path, digest: str, runs: int, stream_mb: int) -> str:
    store = open_store(url)
    trips = [round_trip(store, source, digest) for _ in range(runs)]
    write, read = statistics.median(t[0] for t in trips), statistics.median(t[1] for t in trips)
    put, listed = many_keys(store, 2500)
    done = subprocess.run(
        [sys.executable, "-c", STREAM, url, str(stream_mb), str(ROOT / "core")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = (int(v) for v in done.stdout.split())
    return (
        f"| {name} | {write:.2f} s | {read:.2f} s | {write + read:.2f} s | {put:.1f} s | {listed:.2f} s "
        f"| {before} → {after} MB (+{after - before}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stream-mb", type=int, default=256, help="size of the streamed object (MB)")
    parser.add_argument("--runs", type=int, default=3, help="20 MB round trips per backend (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "20mb.bin"
        source.write_bytes(os.urandom(MB) * 20)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        print(
            f"| backend | 20 MB write | 20 MB read | round trip | 2500 keys written (16 threads) | listed "
            f"| peak RSS streaming {args.stream_mb} MB up+down |"
        )
        print("|---|---|---|---|---|---|---|")
        print(measure("local", (Path(tmp) / "store").as_uri(), source, digest, args.runs, args.stream_mb))
        for name, start in SERVERS.items():
            emulator = start()
            saved = dict(os.environ)
            try:
                os.environ.update(emulator.env)
                print(measure(name, new_store_url(name), source, digest, args.runs, args.stream_mb), flush=True)
            finally:
                os.environ.clear()
                os.environ.update(saved)
                stop(emulator)


if __name__ == "__main__":
    main()
