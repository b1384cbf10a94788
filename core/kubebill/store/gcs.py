"""A Google Cloud Storage bucket as a Store, with google-cloud-storage (STORAGE_EMULATOR_HOST names an emulator)."""

from __future__ import annotations

import builtins
import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO, cast

from kubebill.errors import PreconditionFailed, StoreError
from kubebill.store.base import CHUNK, PAGE, Data, ObjectInfo, RemoteStore, first_line, pieces, stream_of, utc

_CONTENT_TYPE = "application/octet-stream"
_COMPOSE_MAX = 32  # sources of one compose request


class GcsStore(RemoteStore):
    """Objects under `root` in one bucket; the etag is the object's generation (GCS preconditions use it)."""

    def __init__(self, bucket: Any, url: str, root: str) -> None:
        super().__init__(url, root)
        self.bucket = bucket

    @classmethod
    def connect(cls, url: str, bucket: str, root: str) -> GcsStore:
        """Open `bucket`, failing fast with StoreError if it is missing, refused or unreachable."""
        import requests
        from google.api_core import exceptions
        from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY

        try:
            client = storage.Client()
            found = client.get_bucket(bucket, timeout=5, retry=DEFAULT_RETRY.with_timeout(3))
        except DefaultCredentialsError:
            raise StoreError(url, "no Google credentials found by the default credential chain") from None
        except exceptions.NotFound:
            raise StoreError(url, f"bucket {bucket!r} does not exist") from None
        except (exceptions.Forbidden, exceptions.Unauthorized, RefreshError) as error:
            raise StoreError(url, f"credentials refused for bucket {bucket!r}: {first_line(error)}") from None
        except (exceptions.RetryError, requests.ConnectionError, requests.Timeout, TransportError) as error:
            endpoint = os.environ.get("STORAGE_EMULATOR_HOST") or "https://storage.googleapis.com"
            cause = getattr(error, "cause", None) or error  # RetryError wraps the last connection error
            raise StoreError(url, f"cannot reach Cloud Storage at {endpoint} ({type(cause).__name__})") from None
        except exceptions.GoogleAPICallError as error:
            raise StoreError(url, f"cannot open bucket {bucket!r}: {first_line(error)}") from None
        return cls(found, url, root)

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from google.api_core import exceptions

        try:
            yield
        except exceptions.PreconditionFailed as error:
            raise PreconditionFailed(key, first_line(error)) from None
        except exceptions.NotFound:
            raise self._missing(key) from None

    def _info(self, key: str, blob: Any) -> ObjectInfo:
        return ObjectInfo(key, int(blob.size), str(blob.generation), utc(blob.updated))

    def _generation(self, key: str, etag: str) -> int:
        try:
            return int(etag)
        except ValueError:
            raise PreconditionFailed(key, f"etag {etag!r} is not a GCS generation") from None

    def _get(self, key: str) -> Any:
        with self._errors(key):
            blob = self.bucket.get_blob(self._name(key))
        if blob is None:
            raise self._missing(key)
        return blob

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for blob in self.bucket.client.list_blobs(self.bucket, prefix=self._names(prefix), page_size=PAGE):
            yield self._info(self._key(blob.name), blob)

    def head(self, key: str) -> ObjectInfo:
        return self._info(key, self._get(key))

    def open(self, key: str) -> BinaryIO:
        blob = self._get(key)
        # Pinned to the generation opened: a replacement mid-read fails instead of mixing two versions.
        return cast(BinaryIO, blob.open("rb", chunk_size=CHUNK, if_generation_match=blob.generation))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            self.head(key)
            return b""
        with self._errors(key):
            return bytes(self.bucket.blob(self._name(key)).download_as_bytes(start=start, end=end - 1))

    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        blob = self.bucket.blob(self._name(key))
        condition: dict[str, int] = {}
        if if_absent:
            condition["if_generation_match"] = 0
        elif if_match is not None:
            condition["if_generation_match"] = self._generation(key, if_match)
        body = pieces(data)
        with self._errors(key):
            if isinstance(body, bytes):
                blob.upload_from_string(body, content_type=_CONTENT_TYPE, **condition)
            else:
                self._precheck(key, if_absent=if_absent, if_match=if_match)
                blob.chunk_size = CHUNK  # a resumable upload, one CHUNK per request
                blob.upload_from_file(stream_of(body), content_type=_CONTENT_TYPE, **condition)
        return self._info(key, blob)

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """GCS compose: up to 32 sources per request; more are composed in groups into temporary objects first
        (next to the key, deleted after), so readers of `key` only ever see the whole result."""
        level = [self._get(source) for source in sources]  # pinned to the generations read here
        if not level:
            return self.write(key, b"")
        target = self.bucket.blob(self._name(key))
        target.content_type = _CONTENT_TYPE
        temporary: builtins.list[Any] = []
        try:
            while len(level) > _COMPOSE_MAX:
                grouped = []
                for start in range(0, len(level), _COMPOSE_MAX):
                    group = level[start : start + _COMPOSE_MAX]
                    part = self.bucket.blob(f"{target.name}.kubebill-compose-{uuid.uuid4().hex}")
                    part.content_type = _CONTENT_TYPE
                    self._compose(key, part, group)
                    temporary.append(part)
                    grouped.append(part)
                level = grouped
            self._compose(key, target, level)
        finally:
            for part in temporary:
                with contextlib.suppress(Exception):
                    part.delete()
        return self._info(key, target)

    def _compose(self, key: str, target: Any, sources: Sequence[Any]) -> None:
        with self._errors(key):
            target.compose(sources, if_source_generation_match=[source.generation for source in sources])

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        condition = {"if_generation_match": self._generation(key, if_match)} if if_match is not None else {}
        if if_match is not None and self.head(key).etag != if_match:  # fake-gcs-server ignores delete conditions
            raise PreconditionFailed(key, f"etag changed from {if_match}")
        with self._errors(key):
            self.bucket.blob(self._name(key)).delete(**condition)
