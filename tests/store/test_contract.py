"""One contract every Store honours, run on a local directory, moto (S3), Azurite and fake-gcs-server."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import csv

from kubebill.errors import PreconditionFailed
from kubebill.store import ObjectInfo, Store, open_store
from kubebill.store.base import CHUNK
from tests.emulators import Backend

MB = 1024 * 1024


def _sibling(backend: Backend, name: str) -> Store:
    """A store whose root prefix starts like this one's (``data`` vs ``data2``), in the same bucket."""
    return open_store(f"{backend.url}{name}")


def _race(writers: int, attempt: Callable[[int], ObjectInfo]) -> list[ObjectInfo | PreconditionFailed]:
    """Run `attempt(i)` in `writers` threads released at once; each outcome is an ObjectInfo or PreconditionFailed."""
    gate = threading.Barrier(writers)

    def run(index: int) -> ObjectInfo | PreconditionFailed:
        gate.wait()
        try:
            return attempt(index)
        except PreconditionFailed as lost:
            return lost

    with ThreadPoolExecutor(writers) as pool:
        return list(pool.map(run, range(writers)))


def _sha(store: Store, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as stream:
        while chunk := stream.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_lists_thousands_of_keys_across_pages(any_store: Backend) -> None:
    store = any_store.store
    keys = sorted(f"many/part={i % 7}/object-{i:05d}.bin" for i in range(2500))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: store.write(key, key.encode()), keys))

    listed = list(store.list("many/"))

    assert [info.key for info in listed] == keys
    assert all(info.size == len(info.key) and info.etag for info in listed)
    assert len({info.key for info in store.list("many/part=3/")}) == len([k for k in keys if "part=3/" in k])


def test_lists_by_prefix_relative_to_the_root(any_store: Backend) -> None:
    store = any_store.store
    for key in ("a/1", "a/2", "ab/3", "b/4"):
        store.write(key, b"x")
    _sibling(any_store, "2").write("a/outside", b"not ours")  # root "data2" must not leak into root "data"

    assert [i.key for i in store.list()] == ["a/1", "a/2", "ab/3", "b/4"]
    assert [i.key for i in store.list("a/")] == ["a/1", "a/2"]
    assert [i.key for i in store.list("a")] == ["a/1", "a/2", "ab/3"]
    assert list(store.list("zzz/")) == []


def test_streams_a_20_mb_file_object_both_ways(any_store: Backend, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    payload = os.urandom(MB) * 20  # 20 MB, more than two upload pieces, so a multipart/block/resumable upload
    source.write_bytes(payload)

    with source.open("rb") as stream:
        written = any_store.store.write("big/file.bin", stream)

    head = any_store.store.head("big/file.bin")
    assert (written.size, written.etag) == (head.size, head.etag) == (len(payload), head.etag)
    assert _sha(any_store.store, "big/file.bin") == hashlib.sha256(payload).hexdigest()


def test_open_returns_a_stream_not_the_whole_object(any_store: Backend) -> None:
    any_store.store.write("stream.bin", os.urandom(CHUNK + MB))
    with any_store.store.open("stream.bin") as stream:
        first = stream.read(1000)
        rest = stream.read()
    assert len(first) == 1000
    assert first + rest == any_store.store.read_bytes("stream.bin")


def test_exactly_one_of_racing_only_if_absent_writers_wins(any_store: Backend) -> None:
    store = any_store.store
    for round_ in range(3):
        key = f"race/{round_}.json"
        outcomes = _race(6, lambda i, key=key: store.write(key, f"writer {i}".encode(), if_absent=True))
        winners = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, ObjectInfo)]
        assert len(winners) == 1, outcomes
        assert store.read_bytes(key) == f"writer {winners[0]}".encode()


@pytest.mark.parametrize("backend", ["local", "s3", "azure"])
def test_racing_large_only_if_absent_writes_never_mix(backend: str, request: pytest.FixtureRequest) -> None:
    """Not on fake-gcs-server: v1.54 ignores ifGenerationMatch on resumable uploads (real GCS checks it at the end)."""
    store = request.getfixturevalue(f"{backend}_env").store
    bodies = [bytes([i]) * (2 * CHUNK + 123) for i in range(2)]  # each a multi-piece upload
    outcomes = _race(2, lambda i: store.write("race/large.bin", bodies[i], if_absent=True))

    winners = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, ObjectInfo)]
    assert len(winners) == 1, outcomes
    assert _sha(store, "race/large.bin") == hashlib.sha256(bodies[winners[0]]).hexdigest()


def test_only_if_absent_refuses_an_existing_key(any_store: Backend) -> None:
    store = any_store.store
    store.write("state.json", b"first", if_absent=True)
    with pytest.raises(PreconditionFailed):
        store.write("state.json", b"second", if_absent=True)
    assert store.read_bytes("state.json") == b"first"


def test_if_match_accepts_the_current_etag_and_rejects_a_stale_one(any_store: Backend) -> None:
    store = any_store.store
    first = store.write("state.json", b"v1")
    second = store.write("state.json", b"v2", if_match=first.etag)
    assert second.etag != first.etag
    assert store.head("state.json").etag == second.etag

    with pytest.raises(PreconditionFailed):
        store.write("state.json", b"v3 from a stale read", if_match=first.etag)
    assert store.read_bytes("state.json") == b"v2"

    listed = {info.key: info.etag for info in store.list()}
    third = store.write("state.json", b"v3", if_match=listed["state.json"])  # a listed etag is usable too
    assert store.read_bytes("state.json") == b"v3"
    assert third.etag == store.head("state.json").etag


def test_if_match_on_a_missing_key_fails(any_store: Backend) -> None:
    etag = any_store.store.write("other", b"x").etag
    with pytest.raises(PreconditionFailed):
        any_store.store.write("absent.json", b"x", if_match=etag)
    assert [i.key for i in any_store.store.list()] == ["other"]


def test_a_missing_key_is_file_not_found_everywhere(any_store: Backend) -> None:
    store = any_store.store
    store.write("present", b"x")
    for operation in (store.head, store.read_bytes, store.open, store.delete):
        with pytest.raises(FileNotFoundError):
            operation("missing/key.parquet")


def test_delete_removes_one_object_and_honours_if_match(any_store: Backend) -> None:
    store = any_store.store
    old = store.write("tmp/a", b"1")
    current = store.write("tmp/a", b"2")
    store.write("tmp/b", b"3")

    with pytest.raises(PreconditionFailed):
        store.delete("tmp/a", if_match=old.etag)
    assert store.read_bytes("tmp/a") == b"2"

    store.delete("tmp/a", if_match=current.etag)
    store.delete("tmp/b")
    assert list(store.list()) == []
    with pytest.raises(FileNotFoundError):
        store.head("tmp/a")


def test_keys_with_equals_signs_spaces_and_unicode(any_store: Backend) -> None:
    store = any_store.store
    keys = ["allocations/cluster=prod eu/year=2024/day=01/opencost.parquet", "billing/Ümlaut & co/+plus%20.csv"]
    for key in keys:
        store.write(key, key.encode())
    assert sorted(i.key for i in store.list()) == sorted(keys)
    assert [i.key for i in store.list("allocations/cluster=prod eu/")] == keys[:1]
    for key in keys:
        assert store.read_bytes(key) == key.encode()
        assert store.head(key).key == key


def test_modified_times_are_utc_aware(any_store: Backend) -> None:
    written = any_store.store.write("clock", b"tick")
    now = datetime.now(UTC)
    for info in (written, any_store.store.head("clock"), *any_store.store.list()):
        assert info.modified.tzinfo is not None and info.modified.utcoffset() == timedelta(0)
        assert abs(info.modified - now) < timedelta(minutes=5)


def test_a_lost_precondition_writes_nothing(any_store: Backend) -> None:
    store = any_store.store
    original = store.write("result.parquet", b"original")
    big = os.urandom(MB) * 20  # a multi-piece upload, so parts/blocks/sessions are involved

    with pytest.raises(PreconditionFailed):
        store.write("result.parquet", big, if_absent=True)
    with pytest.raises(PreconditionFailed):
        store.write("result.parquet", big, if_match='"0x0"' if any_store.name != "gcs" else "1")
    with pytest.raises(PreconditionFailed):
        store.write("fresh.parquet", big, if_match=original.etag)

    assert list(store.list()) == [store.head("result.parquet")]
    assert store.head("result.parquet").etag == original.etag
    assert store.read_bytes("result.parquet") == b"original"
    _assert_no_leftovers(any_store)


def test_write_file_puts_the_files_content_under_the_same_conditions(any_store: Backend, tmp_path: Path) -> None:
    store = any_store.store
    source = tmp_path / "result.csv"
    payload = os.urandom(MB) * 20  # a multi-piece upload on the cloud stores
    source.write_bytes(payload)

    written = store.write_file("results/month.csv", str(source), if_absent=True)

    assert (written.size, written.etag) == (len(payload), store.head("results/month.csv").etag)
    assert _sha(store, "results/month.csv") == hashlib.sha256(payload).hexdigest()
    assert source.read_bytes() == payload  # the caller's file is left as it was
    with pytest.raises(PreconditionFailed):
        store.write_file("results/month.csv", str(source), if_absent=True)
    newer = tmp_path / "newer.csv"
    newer.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(PreconditionFailed):
        store.write_file("results/month.csv", str(newer), if_match='"0x0"' if any_store.name != "gcs" else "1")
    assert store.head("results/month.csv").etag == written.etag
    replaced = store.write_file("results/month.csv", str(newer), if_match=written.etag)
    assert store.read_bytes("results/month.csv") == b"a,b\n1,2\n"
    assert replaced.etag == store.head("results/month.csv").etag != written.etag
    assert [i.key for i in store.list()] == ["results/month.csv"]


def _assert_no_leftovers(backend: Backend) -> None:
    """Nothing half-written behind the API either: no temp files, no open multipart uploads."""
    if backend.name == "local":
        root = Path(backend.url.removeprefix("file://"))
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        assert [f for f in files if not f.startswith(".kubebill-locks/")] == ["result.parquet"]
    elif backend.name == "s3":
        import boto3

        bucket = backend.url.removeprefix("s3://").split("/")[0]
        assert boto3.session.Session().client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_rejects_keys_that_escape_the_root(any_store: Backend) -> None:
    for key in ("../outside", "a/../../b", "a//b", "dir/"):
        with pytest.raises(ValueError, match="invalid object key"):
            any_store.store.write(key, b"x")


def test_open_streams_feed_pyarrow_as_the_readers_use_them(any_store: Backend) -> None:
    rows = "".join(f"{i},namespace-{i % 13},{i * 0.25}\n" for i in range(50_000))
    any_store.store.write("billing/export.csv.gz", gzip.compress(f"id,namespace,cost\n{rows}".encode()))

    with any_store.store.open("billing/export.csv.gz") as raw:
        assert raw.readable()
        table = csv.read_csv(pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip"))

    assert table.num_rows == 50_000
    assert table.column("cost").to_pylist()[-1] == 49_999 * 0.25


def test_compose_writes_the_sources_one_after_another(any_store: Backend) -> None:
    """Sources around S3's 5 MiB least part: big ones copied on the service, small ones carried with their
    neighbours (a small one first, between two big ones, and last), an empty one."""
    store = any_store.store
    bodies = [b"head\n", os.urandom(6 * MB + 7), b"x", b"", os.urandom(5 * MB), os.urandom(11 * MB + 1), b"tail"]
    sources = [f"compose/in/{i}.bin" for i in range(len(bodies))]
    for source, body in zip(sources, bodies, strict=True):
        store.write(source, body)
    before = {info.key: info.etag for info in store.list("compose/in/")}

    written = store.compose("compose/out.bin", sources)

    whole = b"".join(bodies)
    assert (written.size, store.head("compose/out.bin").size) == (len(whole), len(whole))
    assert _sha(store, "compose/out.bin") == hashlib.sha256(whole).hexdigest()
    assert {info.key: info.etag for info in store.list("compose/in/")} == before  # the sources stay
    assert [info.key for info in store.list("compose/")] == [*sorted(sources), "compose/out.bin"]  # no leftovers


def test_compose_of_more_sources_than_one_gcs_request_takes(any_store: Backend) -> None:
    store = any_store.store
    sources = [f"many-parts/{i:03d}.csv" for i in range(70)]
    for i, source in enumerate(sources):
        store.write(source, f"row {i}\n".encode())
    store.write("many-parts/out.csv", b"old")

    store.compose("many-parts/out.csv", sources)

    assert store.read_bytes("many-parts/out.csv") == b"".join(f"row {i}\n".encode() for i in range(70))
    assert len(list(store.list("many-parts/"))) == 71  # temporary objects of a composition in steps are gone


def test_compose_with_a_missing_source_leaves_the_key_as_it_was(any_store: Backend) -> None:
    store = any_store.store
    store.write("partial/a", b"a")
    store.write("partial/out", b"before")

    with pytest.raises(FileNotFoundError):
        store.compose("partial/out", ["partial/a", "partial/missing"])

    assert store.read_bytes("partial/out") == b"before"
    assert store.compose("partial/empty", []).size == 0
    assert store.read_bytes("partial/empty") == b""


def test_compose_of_one_source_is_a_copy_that_outlives_it(any_store: Backend) -> None:
    store = any_store.store
    store.write("single/day.csv", b"h\n1\n")

    written = store.compose("single/month.csv", ["single/day.csv"])
    store.write("single/day.csv", b"h\n2\n")

    assert store.read_bytes("single/month.csv") == b"h\n1\n"
    assert store.head("single/month.csv").etag == written.etag


def test_read_range_reads_only_the_bytes_asked_for(any_store: Backend) -> None:
    store = any_store.store
    store.write("range/object.bin", b"0123456789")

    assert store.read_range("range/object.bin", 3, 7) == b"3456"
    assert store.read_range("range/object.bin", 8, 100) == b"89"
    assert store.read_range("range/object.bin", 5, 5) == b""
    for start, end in ((0, 4), (2, 2)):
        with pytest.raises(FileNotFoundError):
            store.read_range("range/missing.bin", start, end)
