"""The Store interface every backend implements, and the logic they share."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

Data = bytes | BinaryIO

CHUNK = 8 * 1024 * 1024


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

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove one object (kubebill's own state/temp objects only); FileNotFoundError if absent."""
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
