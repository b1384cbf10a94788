"""One Store interface over a local directory, S3, Azure Blob and GCS; `open_store(url)` picks one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from kubebill.errors import PreconditionFailed, StoreError
from kubebill.store.base import ObjectInfo, Store
from kubebill.store.local import LocalStore

__all__ = ["LocalStore", "ObjectInfo", "PreconditionFailed", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """A Store for `url` (DESIGN 3.2): a path, file://, s3://bucket/prefix, az://container/prefix, gs://bucket/prefix.

    Only the adapter of the scheme asked for is imported, and it imports its cloud SDK then. Raises StoreError
    naming the URL and the cause (unknown scheme, missing bucket, refused credentials, unreachable endpoint).
    """
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        path = parsed.path if scheme == "file" else url
        if scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise StoreError(url, "file:// URLs must be absolute paths (file:///abs/path)")
        root = Path(path).expanduser()
        if root.exists() and not root.is_dir():
            raise StoreError(url, "not a directory")
        return LocalStore(root, url=url)
    if not parsed.netloc:
        raise StoreError(url, f"expected {scheme}://<bucket or container>/<prefix>")
    if scheme == "s3":
        from kubebill.store.s3 import S3Store

        return S3Store.connect(url, parsed.netloc, parsed.path.strip("/"))
    if scheme == "az":
        from kubebill.store.azure_blob import AzureBlobStore

        return AzureBlobStore.connect(url, parsed.netloc, parsed.path.strip("/"))
    if scheme == "gs":
        from kubebill.store.gcs import GcsStore

        return GcsStore.connect(url, parsed.netloc, parsed.path.strip("/"))
    raise StoreError(url, f"unknown scheme {scheme!r}; expected a path, file://, s3://, az:// or gs://")
