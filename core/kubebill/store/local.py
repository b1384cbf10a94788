"""A directory on local disk as a Store (the embedded default)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from kubebill.errors import PreconditionFailed
from kubebill.store.base import Data, ObjectInfo, as_stream, concatenated, copy_stream, join_key

_HIDDEN = ".kubebill-"  # temp files and locks, never listed


class LocalStore:
    """Objects are files under `root`; writes are atomic (temp file + rename / link)."""

    def __init__(self, root: str | os.PathLike[str], *, url: str | None = None) -> None:
        self.root = Path(root).absolute()
        self.url = url or self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / join_key("", key)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = path.stat()
        etag = f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"
        return ObjectInfo(key, st.st_size, etag, datetime.fromtimestamp(st.st_mtime, UTC))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        prefix = prefix.lstrip("/")
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return
        found: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(_HIDDEN)]
            for name in filenames:
                if name.startswith(_HIDDEN):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        for key, path in sorted(found):
            with contextlib.suppress(FileNotFoundError):
                yield self._info(key, path)

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{self.url}/{key}")
        return self._info(key, path)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{self.url}/{key}")
        return path.open("rb")

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with self.open(key) as stream:
            stream.seek(start)
            return stream.read(max(0, end - start))

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Serialize conditional writers of one key, across processes."""
        locks = self.root / f"{_HIDDEN}locks"
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        with (locks / name).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=_HIDDEN, dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            try:
                copy_stream(as_stream(data), out)
            except BaseException:
                os.unlink(tmp_name)
                raise
        return self._commit(key, path, Path(tmp_name), if_absent=if_absent, if_match=if_match)

    def write_file(self, key: str, path: str, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        """A hard link to the file when it is on the store's file system (no copy of a large result), else a
        copy; the file must not be changed afterwards."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{_HIDDEN}{os.urandom(8).hex()}"
        try:
            if target.is_file() and os.path.samefile(path, target):
                raise OSError("already this object: a link would keep its etag")
            os.link(path, tmp)  # the etag (inode, mtime, size) is then the file's own: unique to this write
            os.chmod(tmp, 0o600)  # the mode write()'s temp files have
        except OSError:  # another file system, links not allowed there, or the object itself
            with open(path, "rb") as data:
                return self.write(key, data, if_absent=if_absent, if_match=if_match)
        return self._commit(key, target, tmp, if_absent=if_absent, if_match=if_match)

    def _commit(self, key: str, path: Path, tmp: Path, *, if_absent: bool, if_match: str | None) -> ObjectInfo:
        """Move the complete temp file `tmp` to the key's `path` if the condition holds; `tmp` is gone after."""
        try:
            with self._locked(key):
                if if_absent:
                    try:
                        os.link(tmp, path)  # atomic: fails if the key exists
                    except FileExistsError:
                        raise PreconditionFailed(key, "object already exists") from None
                    return self._info(key, path)
                if if_match is not None:
                    current = self._info(key, path).etag if path.is_file() else None
                    if current != if_match:
                        raise PreconditionFailed(key, f"etag is {current}, expected {if_match}")
                os.replace(tmp, path)
                return self._info(key, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """The sources copied one after another into a temp file, then renamed to the key (see Store.compose); one
        source is linked, as write_file links (a month of one day: no copy of a CSV ~100× its Parquet's size)."""
        if len(sources) == 1:
            self.head(sources[0])
            return self.write_file(key, str(self._path(sources[0])))
        return self.write(key, concatenated(self, sources))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        path = self._path(key)
        with self._locked(key):
            if not path.is_file():
                raise FileNotFoundError(f"{self.url}/{key}")
            if if_match is not None and self._info(key, path).etag != if_match:
                raise PreconditionFailed(key, "etag changed")
            path.unlink()
