"""The Store interface every backend implements, and the logic they share."""

from __future__ import annotations

import abc
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol, runtime_checkable

from kubebill.errors import PreconditionFailed

Data = bytes | BinaryIO

CHUNK = 8 * 1024 * 1024  # read/write piece: S3 part, Azure block, GCS resumable chunk (a multiple of 256 KiB)
PAGE = 1000  # keys per list request on every cloud backend


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: key relative to the store's root prefix."""

    key: str
    size: int
    etag: str  # S3 ETag, Azure ETag, GCS generation, local mtime+size+inode
    modified: datetime


@runtime_checkable
class Store(Protocol):
    """Object storage as kubebill uses it. Keys are relative to the URL's prefix, `/`-separated."""

    url: str

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, in key order."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Metadata of one object; FileNotFoundError if absent."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole object; FileNotFoundError if absent."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object (not read whole); FileNotFoundError if absent."""
        ...

    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        """Write (streaming a file object), optionally only if absent or only if the etag still matches.

        Raises PreconditionFailed when the condition does not hold; nothing is written then.
        """
        ...

    def write_file(self, key: str, path: str, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        """write() of a local file's content (conditions as there); a store may link the file instead of copying
        it, so the file must not be changed afterwards."""
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove one object (kubebill's own state/temp objects only); FileNotFoundError if absent."""
        ...

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object (fewer past its end), without reading the rest; FileNotFoundError if
        absent."""
        ...

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """Write `key` as the bytes of the `sources` objects one after another (they stay as they are), on the
        service where it can (S3 UploadPartCopy, GCS compose, Azure Put Block From URL), else streamed through.

        FileNotFoundError if a source is absent; `key` is then left as it was.
        """
        ...


def join_key(root: str, key: str) -> str:
    """`root` + `key` with exactly one `/` between (root may be empty)."""
    key = key.lstrip("/")
    if not key or key.endswith("/") or "//" in key or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid object key {key!r}")
    root = root.strip("/")
    return f"{root}/{key}" if root else key


def join_prefix(root: str, prefix: str) -> str:
    """`root` + a listing prefix (which may be empty or end with `/`)."""
    root = root.strip("/")
    prefix = prefix.lstrip("/")
    if not root:
        return prefix
    return f"{root}/{prefix}"


def strip_root(root: str, full_key: str) -> str:
    root = root.strip("/")
    return full_key[len(root) + 1 :] if root else full_key


def as_stream(data: Data) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data


def copy_stream(src: BinaryIO, dst: BinaryIO) -> int:
    """Copy in CHUNK-sized pieces; returns bytes copied."""
    total = 0
    while chunk := src.read(CHUNK):
        dst.write(chunk)
        total += len(chunk)
    return total


def utc(moment: datetime) -> datetime:
    """An SDK timestamp as an aware UTC datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_upto(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of stream (raw streams may return short reads)."""
    parts: list[bytes] = []
    missing = size
    while missing > 0 and (part := stream.read(missing)):
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def pieces(data: Data) -> bytes | Iterator[bytes]:
    """The whole upload as bytes when it fits one CHUNK, else an iterator of CHUNK-sized pieces.

    At most two pieces are in memory at once, so a 1 GB file object streams through a multipart/block upload.
    """
    stream = as_stream(data)
    first = read_upto(stream, CHUNK)
    second = read_upto(stream, CHUNK)
    if not second:
        return first
    return itertools.chain((first, second), iter(lambda: read_upto(stream, CHUNK), b""))


class ChunkStream(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (Azure downloads, GCS resumable uploads)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")
        self._position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._position += size
        return size


class _Readable(Protocol):
    def head(self, key: str) -> ObjectInfo: ...

    def open(self, key: str) -> BinaryIO: ...


def concatenated(store: _Readable, sources: Sequence[str]) -> BinaryIO:
    """A stream of the `sources` objects' bytes one after another, each opened when the one before ends; every
    source is checked to exist first, so a missing one fails before anything is written."""
    for source in sources:
        store.head(source)

    def chunks() -> Iterator[bytes]:
        for source in sources:
            with store.open(source) as stream:
                while chunk := stream.read(CHUNK):
                    yield chunk

    return stream_of(chunks())


def first_line(error: BaseException) -> str:
    """An SDK error's message cut to one line (some span pages)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def stream_of(chunks: Iterator[bytes]) -> BinaryIO:
    """A buffered stream over byte chunks: read(n) returns n bytes unless at the end."""
    return io.BufferedReader(ChunkStream(chunks), CHUNK)


class RemoteStore(abc.ABC):
    """What the cloud adapters share: keys under a root prefix inside one bucket or container."""

    def __init__(self, url: str, root: str) -> None:
        self.url = url
        self.root = root.strip("/")

    def _name(self, key: str) -> str:
        """The full object name of `key`."""
        return join_key(self.root, key)

    def _names(self, prefix: str) -> str:
        """The full name prefix of a listing."""
        return join_prefix(self.root, prefix)

    def _key(self, name: str) -> str:
        return strip_root(self.root, name)

    def _missing(self, key: str) -> FileNotFoundError:
        return FileNotFoundError(f"{self.url.rstrip('/')}/{key}")

    @abc.abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Metadata of one object; FileNotFoundError if absent."""

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object; FileNotFoundError if absent."""

    def _precheck(self, key: str, *, if_absent: bool, if_match: str | None) -> None:
        """Fail before a multi-piece upload when its condition already fails, instead of after sending it all.

        The final request still carries the condition, which the service applies atomically; this early
        check is also what holds the condition on emulators that ignore it there (moto's If-Match on
        CompleteMultipartUpload, fake-gcs-server's resumable uploads).
        """
        if not if_absent and if_match is None:
            return
        try:
            current: str | None = self.head(key).etag
        except FileNotFoundError:
            current = None
        if if_absent and current is not None:
            raise PreconditionFailed(key, "object already exists")
        if if_match is not None and current != if_match:
            raise PreconditionFailed(key, f"etag is {current}, expected {if_match}")

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    @abc.abstractmethod
    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        """See Store.write."""

    def write_file(self, key: str, path: str, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        """An upload of the file, streamed as write() streams a file object."""
        with open(path, "rb") as data:
            return self.write(key, data, if_absent=if_absent, if_match=if_match)

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """See Store.compose: here streamed through this process (adapters whose service composes override it)."""
        return self.write(key, concatenated(self, sources))
