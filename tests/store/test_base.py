"""The helpers every adapter shares: key joining, upload pieces, chunk streams, UTC times."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kubebill.store.base import CHUNK, join_key, join_prefix, pieces, read_upto, stream_of, strip_root, utc


class Trickle(io.RawIOBase):
    """A raw stream that returns at most `step` bytes per read, as sockets and pipes do."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        piece = self._data.read(min(len(buffer), self._step))
        buffer[: len(piece)] = piece
        return len(piece)


def test_keys_join_under_the_root() -> None:
    assert join_key("data/", "/a/b=1/c d.parquet") == "data/a/b=1/c d.parquet"
    assert join_key("", "a") == "a"
    assert join_prefix("data", "") == "data/"
    assert join_prefix("data", "a/") == "data/a/"
    assert join_prefix("", "a") == "a"
    assert strip_root("data", "data/a/b") == "a/b"
    for bad in ("", "a/", "a//b", "../x", "a/./b"):
        with pytest.raises(ValueError, match="invalid object key"):
            join_key("data", bad)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1])
def test_small_uploads_are_one_piece_and_large_ones_stream_in_chunks(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    body = pieces(Trickle(data, 100_003))  # type: ignore[arg-type]
    if size <= CHUNK:
        assert body == data
    else:
        assert not isinstance(body, bytes)
        parts = list(body)
        assert [len(p) for p in parts] == [CHUNK, 1]
        assert b"".join(parts) == data


def test_bytes_and_file_objects_upload_alike() -> None:
    assert pieces(b"abc") == b"abc"
    assert pieces(io.BytesIO(b"abc")) == b"abc"


def test_read_upto_fills_across_short_reads() -> None:
    stream = Trickle(b"0123456789", 3)
    assert read_upto(stream, 7) == b"0123456"  # type: ignore[arg-type]
    assert read_upto(stream, 7) == b"789"  # type: ignore[arg-type]
    assert read_upto(stream, 7) == b""  # type: ignore[arg-type]


def test_a_chunk_stream_reads_across_chunk_edges_and_tells_its_position() -> None:
    stream = stream_of(iter([b"ab", b"", b"cde", b"f"]))
    assert stream.read(4) == b"abcd"
    assert stream.read() == b"ef"
    assert stream.read(1) == b""
    assert stream_of(iter([b"x" * 10])).raw.tell() == 0  # type: ignore[attr-defined]


def test_times_become_aware_utc() -> None:
    naive = datetime(2024, 1, 1, 12, 0)
    assert utc(naive) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    paris = datetime(2024, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert utc(paris) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert utc(paris).tzinfo is UTC


def test_adapters_import_their_sdk_only_when_connecting() -> None:
    code = (
        "import sys, kubebill.store, kubebill.store.s3, kubebill.store.azure_blob, kubebill.store.gcs\n"
        "sdks = ('boto3', 'botocore', 'azure.storage', 'azure.identity', 'google.cloud.storage', 'google.auth')\n"
        "print(sorted(m for m in sys.modules if m.startswith(sdks)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
