"""An S3 bucket (or an S3-compatible endpoint named by AWS_ENDPOINT_URL) as a Store, with boto3."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, cast

from kubebill.errors import PreconditionFailed, StoreError
from kubebill.store.base import PAGE, Data, ObjectInfo, RemoteStore, pieces, utc

_REFUSED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "403"}
_LOST = {"PreconditionFailed", "ConditionalRequestConflict", "412"}  # 409 ConditionalRequestConflict: a racing write
_ABSENT = {"NoSuchKey", "NotFound", "404"}
_MIN_PART = 5 * 1024 * 1024  # S3's least size of a part that is not the last
_MAX_PART = 5 * 1024**3  # and its largest


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store(RemoteStore):
    """Objects under `root` in one bucket. Credentials and endpoint come from boto3's default chain."""

    def __init__(self, client: Any, url: str, bucket: str, root: str) -> None:
        super().__init__(url, root)
        self.client = client
        self.bucket = bucket

    @classmethod
    def connect(cls, url: str, bucket: str, root: str) -> S3Store:
        """Open `bucket`, failing fast with StoreError if it is missing, refused or unreachable."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=32,
        )
        try:
            # A new session resolves credentials and endpoint now; boto3's default session caches them forever.
            client = boto3.session.Session().client("s3", config=config)
            client.head_bucket(Bucket=bucket)
        except NoCredentialsError:
            raise StoreError(url, "no AWS credentials found by the default credential chain") from None
        except ClientError as error:
            code = _code(error)
            if code in ("404", "NoSuchBucket"):
                raise StoreError(url, f"bucket {bucket!r} does not exist") from None
            if code in _REFUSED:
                raise StoreError(url, f"credentials refused for bucket {bucket!r} ({code})") from None
            raise StoreError(url, f"cannot open bucket {bucket!r}: {error}") from None
        except BotoCoreError as error:
            raise StoreError(url, f"cannot reach S3: {error}") from None
        return cls(client, url, bucket, root)

    @contextlib.contextmanager
    def _errors(self, key: str, *, conditional: bool = False) -> Iterator[None]:
        """SDK errors as FileNotFoundError / PreconditionFailed (a conditional write on a missing key lost too)."""
        from botocore.exceptions import ClientError

        try:
            yield
        except ClientError as error:
            code = _code(error)
            if code in _LOST or (conditional and code in _ABSENT):
                raise PreconditionFailed(key, code) from None
            if code in _ABSENT:
                raise self._missing(key) from None
            raise

    def _info(self, key: str, meta: dict[str, Any]) -> ObjectInfo:
        size = meta.get("Size", meta.get("ContentLength", 0))
        return ObjectInfo(key, int(size), str(meta["ETag"]), utc(meta["LastModified"]))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._names(prefix), PaginationConfig={"PageSize": PAGE}
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield self._info(self._key(item["Key"]), item)

    def head(self, key: str) -> ObjectInfo:
        with self._errors(key):
            return self._info(key, self.client.head_object(Bucket=self.bucket, Key=self._name(key)))

    def open(self, key: str) -> BinaryIO:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        return cast(BinaryIO, body)  # botocore StreamingBody: an io.IOBase read from the socket

    def write(self, key: str, data: Data, *, if_absent: bool = False, if_match: str | None = None) -> ObjectInfo:
        name = self._name(key)
        condition = {"IfNoneMatch": "*"} if if_absent else {"IfMatch": if_match} if if_match is not None else {}
        body = pieces(data)
        with self._errors(key, conditional=bool(condition)):
            if isinstance(body, bytes):
                size = len(body)
                response = self.client.put_object(Bucket=self.bucket, Key=name, Body=body, **condition)
            else:
                self._precheck(key, if_absent=if_absent, if_match=if_match)
                size, response = self._multipart(name, body, condition)
        return ObjectInfo(key, size, str(response["ETag"]), _response_time(response))

    def _multipart(self, name: str, parts: Iterator[bytes], condition: dict[str, str]) -> tuple[int, Any]:
        """Upload parts, then complete under `condition`; abort on any failure so nothing is left behind."""
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)["UploadId"]
        try:
            done, size = [], 0
            for number, part in enumerate(parts, start=1):
                etag = self.client.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload, PartNumber=number, Body=part
                )["ETag"]
                done.append({"PartNumber": number, "ETag": etag})
                size += len(part)
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload, MultipartUpload={"Parts": done}, **condition
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload)
            raise
        return size, response

    def compose(self, key: str, sources: Sequence[str]) -> ObjectInfo:
        """One multipart upload whose parts are copied from the sources on S3 (UploadPartCopy). Every part but
        the last must hold at least 5 MiB: a source (or its tail) smaller than that is read and sent with the
        bytes around it instead, so only small pieces pass through this process."""
        sizes = [(source, self.head(source).size) for source in sources]  # FileNotFoundError before any upload
        if not any(size for _, size in sizes):
            return self.write(key, b"")
        name = self._name(key)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)["UploadId"]
        done: list[dict[str, Any]] = []
        pending = bytearray()  # bytes of small pieces not sent yet: always fewer than _MIN_PART between steps

        def send(**part: Any) -> None:
            number = len(done) + 1
            args = {"Bucket": self.bucket, "Key": name, "UploadId": upload, "PartNumber": number}
            if "Body" in part:
                etag = self.client.upload_part(**args, **part)["ETag"]
            else:
                etag = self.client.upload_part_copy(**args, **part)["CopyPartResult"]["ETag"]
            done.append({"PartNumber": number, "ETag": etag})

        try:
            for source, size in sizes:
                copy = {"Bucket": self.bucket, "Key": self._name(source)}
                start = 0
                if pending:  # top the small bytes up to a whole part from this source's head
                    start = min(_MIN_PART - len(pending), size)
                    pending += self.read_range(source, 0, start)
                    if len(pending) >= _MIN_PART:
                        send(Body=bytes(pending))
                        pending.clear()
                while size - start >= _MIN_PART:
                    end = min(size, start + _MAX_PART)
                    if 0 < size - end < _MIN_PART:
                        end = size - _MIN_PART  # leave the tail a whole part
                    send(CopySource=copy, CopySourceRange=f"bytes={start}-{end - 1}")
                    start = end
                if start < size:
                    pending += self.read_range(source, start, size)
            if pending:
                send(Body=bytes(pending))
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload, MultipartUpload={"Parts": done}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload)
            raise
        return ObjectInfo(key, sum(size for _, size in sizes), str(response["ETag"]), _response_time(response))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """See Store.read_range (an HTTP Range request)."""
        if end <= start:
            self.head(key)
            return b""
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key), Range=f"bytes={start}-{end - 1}")
        return bytes(body["Body"].read())

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self.head(key)  # S3 deletes of a missing key succeed silently; the contract says FileNotFoundError
        condition = {"IfMatch": if_match} if if_match is not None else {}
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key), **condition)


def _response_time(response: Any) -> datetime:
    """The server's Date header of a write (PutObject returns no LastModified)."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    return utc(parsedate_to_datetime(date)) if date else datetime.now(UTC)
