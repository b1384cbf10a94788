"""An Azure Blob container as a Store, with azure-storage-blob.

The account comes from AZURE_STORAGE_CONNECTION_STRING (which also names an emulator's endpoint; it wins
when both are set) or AZURE_STORAGE_ACCOUNT_NAME with DefaultAzureCredential (managed identity, workload
identity, az login).
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from kubebill.errors import PreconditionFailed, StoreError
from kubebill.store.base import (
    CHUNK,
    PAGE,
    Data,
    ObjectInfo,
    RemoteStore,
    concatenated,
    first_line,
    pieces,
    stream_of,
    utc,
)

_CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": 5,
    "read_timeout": 60,
    "max_single_get_size": CHUNK,  # the first GET of a download is held whole: keep it one CHUNK
    "max_chunk_get_size": CHUNK,
}
_FROM_URL_BLOCK = 100 * 1024 * 1024  # bytes per Put Block From URL (the service's limit before version 2020-04-08)


def _service(url: str) -> Any:
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    retry = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=3)
    connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection:
        try:
            return BlobServiceClient.from_connection_string(connection, retry_policy=retry, **_CLIENT_OPTIONS)
        except ValueError as error:
            raise StoreError(url, f"AZURE_STORAGE_CONNECTION_STRING is not a connection string: {error}") from None
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise StoreError(
            url, "set AZURE_STORAGE_ACCOUNT_NAME (default Azure credential) or AZURE_STORAGE_CONNECTION_STRING"
        )
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(
        f"https://{account}.blob.core.windows.net",
        credential=DefaultAzureCredential(),
        retry_policy=retry,
        **_CLIENT_OPTIONS,
    )


class AzureBlobStore(RemoteStore):
    """Blobs under `root` in one container. Large writes stage blocks under random ids, then commit once."""

    def __init__(self, container: Any, url: str, root: str) -> None:
        super().__init__(url, root)
        self.container = container

    @classmethod
    def connect(cls, url: str, container: str, root: str) -> AzureBlobStore:
        """Open `container`, failing fast with StoreError if it is missing, refused or unreachable."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        client = _service(url).get_container_client(container)
        try:
            client.get_container_properties(retry_total=1)
        except ResourceNotFoundError:
            raise StoreError(url, f"container {container!r} does not exist") from None
        except ClientAuthenticationError as error:
            raise StoreError(url, f"credentials refused for container {container!r}: {first_line(error)}") from None
        except ServiceRequestError as error:
            raise StoreError(url, f"cannot reach {client.url}: {first_line(error)}") from None
        except HttpResponseError as error:
            if error.status_code == 403:
                raise StoreError(url, f"credentials refused for container {container!r} ({error.reason})") from None
            raise StoreError(url, f"cannot open container {container!r}: {first_line(error)}") from None
        return cls(client, url, root)

    @contextlib.contextmanager
    def _errors(self, key: str, *, conditional: bool = False) -> Iterator[None]:
        """SDK errors as FileNotFoundError / PreconditionFailed (a conditional write on a missing blob lost too)."""
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        try:
            yield
        except (ResourceExistsError, ResourceModifiedError) as error:
            raise PreconditionFailed(key, str(error.reason)) from None
        except ResourceNotFoundError as error:
            if conditional:
                raise PreconditionFailed(key, str(error.reason)) from None
            raise self._missing(key) from None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for blob in self.container.list_blobs(name_starts_with=self._names(prefix), results_per_page=PAGE):
            yield _info(self._key(blob.name), blob.size, blob.etag, blob.last_modified)

    def head(self, key: str) -> ObjectInfo:
        with self._errors(key):
            blob = self.container.get_blob_client(self._name(key)).get_blob_properties()
        return _info(key, blob.size, blob.etag, blob.last_modified)

    def open(self, key: str) -> BinaryIO:
        with self._errors(key):
            download = self.container.get_blob_client(self._name(key)).download_blob(max_concurrency=1)
        return stream_of(download.chunks())  # chunks are fetched as they are read

    def read_range(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            self.head(key)
            return b""
        with self._errors(key):
            download = self.container.get_blob_client(self._name(key)).download_blob(offset=start, length=end - start)
        return bytes(download.readall())

    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        from azure.core import MatchConditions
        from azure.storage.blob import BlobBlock

        blob = self.container.get_blob_client(self._name(key))
        condition: dict[str, Any] = {}
        if if_absent:
            condition = {"match_condition": MatchConditions.IfMissing}
        elif if_match is not None:
            condition = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        body = pieces(data)
        with self._errors(key, conditional=bool(condition)):
            if isinstance(body, bytes):
                size = len(body)
                response = blob.upload_blob(body, overwrite=True, **condition)
            else:
                # The SDK names blocks by offset, so two racing uploads of one blob could mix their blocks;
                # random ids keep each writer's blocks its own until the one conditional commit.
                blocks, size = [], 0
                for part in body:
                    block = base64.b64encode(uuid.uuid4().bytes).decode()
                    blob.stage_block(block, part, length=len(part))
                    blocks.append(BlobBlock(block_id=block))
                    size += len(part)
                response = blob.commit_block_list(blocks, **condition)
        return _info(key, size, response["etag"], response["last_modified"])

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """Blocks staged from the sources' URLs by the service (Put Block From URL), committed once. A service
        without that operation (Azurite before 3.37) gets the sources streamed through this process instead."""
        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob import BlobBlock

        sized = [(source, self.head(source).size) for source in sources]  # FileNotFoundError before any block
        blob = self.container.get_blob_client(self._name(key))
        blocks, total = [], 0
        try:
            for source, size in sized:
                url, auth = self._readable(source)
                for offset in range(0, size, _FROM_URL_BLOCK):
                    block = base64.b64encode(uuid.uuid4().bytes).decode()
                    length = min(_FROM_URL_BLOCK, size - offset)
                    with self._errors(source):
                        blob.stage_block_from_url(block, url, source_offset=offset, source_length=length, **auth)
                    blocks.append(BlobBlock(block_id=block))
                    total += length
        except HttpResponseError as error:
            if error.status_code not in (501, 400) or "NotImplemented" not in str(
                getattr(error, "error_code", None) or error
            ):
                raise
            return self.write(key, concatenated(self, sources))
        with self._errors(key):
            response = blob.commit_block_list(blocks)
        return _info(key, total, response["etag"], response["last_modified"])

    def _readable(self, key: str) -> tuple[str, dict[str, str]]:
        """A URL the service may read `key` from: signed with the account key (a short read-only SAS), else the
        caller's token passed along as the source's authorization."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        client = self.container.get_blob_client(self._name(key))
        credential = self.container.credential
        account_key = getattr(credential, "account_key", None)
        if account_key:
            sas = generate_blob_sas(
                credential.account_name,
                client.container_name,
                client.blob_name,
                account_key=account_key,
                permission=BlobSasPermissions(read=True),
                expiry=datetime.now(UTC) + timedelta(hours=1),
            )
            return f"{client.url}?{sas}", {}
        token = credential.get_token("https://storage.azure.com/.default").token
        return client.url, {"source_authorization": f"Bearer {token}"}

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        from azure.core import MatchConditions

        condition = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        with self._errors(key):
            self.container.get_blob_client(self._name(key)).delete_blob(**condition)


def _info(key: str, size: int, etag: str, modified: datetime) -> ObjectInfo:
    """Listings give the etag bare, headers quoted: always quoted, so either compares and matches."""
    return ObjectInfo(key, size, etag if etag.startswith('"') else f'"{etag}"', utc(modified))
