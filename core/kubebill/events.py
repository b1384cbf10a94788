"""Platform event payloads -> (bucket, key) or a job: pure dict parsing, no cloud SDK (DESIGN 5).

S3 event notifications (direct, SQS- or SNS-wrapped), EventBridge "Object Created", Event Grid
BlobCreated, Cloud Storage `object.v1.finalized` CloudEvent data, and Pub/Sub messages from Cloud
Scheduler. A payload that is not what it claims raises `EventError` naming the missing/odd field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from kubebill.errors import InputError

GCS_FINALIZED = "google.cloud.storage.object.v1.finalized"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
JOBS = ("export", "catch-up")


class EventError(InputError):
    """A platform event kubebill cannot use: unknown type or shape, missing field, unreadable key."""


@dataclass(frozen=True)
class ObjectEvent:
    """One created object as the platform named it: bucket (container) and full object key."""

    bucket: str
    key: str
    created: bool = True  # False for other object events (deleted, tagged, ...): acknowledged, nothing to do


def _field(payload: Any, *path: str) -> Any:
    node = payload
    for depth, name in enumerate(path):
        if not isinstance(node, Mapping) or name not in node:
            raise EventError(f"missing field {'.'.join(path[: depth + 1])}")
        node = node[name]
    return node


def _text(payload: Any, *path: str) -> str:
    value = _field(payload, *path)
    if not isinstance(value, str) or not value:
        raise EventError(f"field {'.'.join(path)} is {value!r}, expected a non-empty string")
    return value


def _decoded(raw: str) -> str:
    """S3 sends keys form-URL-encoded (`+` for space, `%3D` for `=`)."""
    try:
        key = unquote_plus(raw, errors="strict")
    except UnicodeDecodeError:
        raise EventError(f"object key {raw!r} is not valid percent-encoded UTF-8") from None
    if not key or "\x00" in key:
        raise EventError(f"object key {raw!r} does not decode to a key")
    return key


def is_s3_notification(payload: Any) -> bool:
    return (
        isinstance(payload, Mapping)
        and isinstance(payload.get("Records"), list)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:s3" for r in payload["Records"])
        and bool(payload["Records"])
    )


def s3_notification(payload: Any) -> list[ObjectEvent]:
    """Every record of an S3 event notification (`Records[].s3`), keys URL-decoded."""
    records = _field(payload, "Records")
    if not isinstance(records, list):
        raise EventError("field Records is not a list")
    found = []
    for record in records:
        name = _text(record, "eventName")
        bucket = _text(record, "s3", "bucket", "name")
        key = _decoded(_text(record, "s3", "object", "key"))
        found.append(ObjectEvent(bucket, key, created=name.startswith("ObjectCreated:")))
    return found


def is_eventbridge(payload: Any) -> bool:
    return isinstance(payload, Mapping) and "detail-type" in payload and "source" in payload


def eventbridge_object(payload: Any) -> ObjectEvent:
    """An EventBridge event from S3 (`source` aws.s3): `detail.bucket.name`, `detail.object.key`."""
    source = _text(payload, "source")
    if source != "aws.s3":
        raise EventError(f"EventBridge source {source!r}, expected 'aws.s3'")
    kind = _text(payload, "detail-type")
    bucket = _text(payload, "detail", "bucket", "name")
    key = _decoded(_text(payload, "detail", "object", "key"))
    return ObjectEvent(bucket, key, created=kind == "Object Created")


def is_scheduled(payload: Any) -> bool:
    """An EventBridge rule's "Scheduled Event"."""
    return is_eventbridge(payload) and payload.get("detail-type") == "Scheduled Event"


def sqs_body(record: Any) -> Any:
    """The JSON body of one SQS record, unwrapping an SNS envelope if S3 went through SNS first."""
    body = _text(record, "body")
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        raise EventError("SQS message body is not JSON") from None
    if isinstance(parsed, Mapping) and parsed.get("Type") == "Notification" and "Message" in parsed:
        try:
            parsed = json.loads(_text(parsed, "Message"))
        except json.JSONDecodeError:
            raise EventError("SNS Message inside the SQS body is not JSON") from None
    return parsed


def is_s3_test_event(payload: Any) -> bool:
    """S3 sends `s3:TestEvent` once when a notification is configured."""
    return isinstance(payload, Mapping) and payload.get("Event") == "s3:TestEvent"


def is_sqs(payload: Any) -> bool:
    return (
        isinstance(payload, Mapping)
        and isinstance(payload.get("Records"), list)
        and bool(payload["Records"])
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in payload["Records"])
    )


def object_events(payload: Any) -> list[ObjectEvent]:
    """The objects an S3 notification or an EventBridge S3 event names."""
    if is_s3_notification(payload):
        return s3_notification(payload)
    if is_eventbridge(payload):
        return [eventbridge_object(payload)]
    raise EventError("not an S3 event notification (Records[].s3) nor an EventBridge S3 event (detail-type)")


_BLOB_SUBJECT = "/blobServices/default/containers/"


def event_grid_blob(event_type: str, subject: str) -> ObjectEvent:
    """An Event Grid Blob Storage event: `subject` is /blobServices/default/containers/<c>/blobs/<name>."""
    if not event_type.startswith("Microsoft.Storage."):
        raise EventError(f"Event Grid event type {event_type!r}, expected {BLOB_CREATED}")
    if not subject.startswith(_BLOB_SUBJECT) or "/blobs/" not in subject:
        raise EventError(f"Event Grid subject {subject!r}, expected {_BLOB_SUBJECT}<container>/blobs/<name>")
    container, _, name = subject[len(_BLOB_SUBJECT) :].partition("/blobs/")
    if not container or not name:
        raise EventError(f"Event Grid subject {subject!r} names no container or blob")
    return ObjectEvent(container, name, created=event_type == BLOB_CREATED)


def gcs_object(event_type: str, data: Any) -> ObjectEvent:
    """A Cloud Storage CloudEvent: `data.bucket`, `data.name` (not URL-encoded)."""
    if not event_type.startswith("google.cloud.storage.object.v1."):
        raise EventError(f"CloudEvent type {event_type!r}, expected {GCS_FINALIZED}")
    return ObjectEvent(_text(data, "bucket"), _text(data, "name"), created=event_type == GCS_FINALIZED)


def pubsub_job(data: Any) -> dict[str, Any]:
    """The Cloud Scheduler job of a Pub/Sub CloudEvent: base64 JSON `{"job": "export"|"catch-up", ...}`."""
    encoded = _field(data, "message", "data") if isinstance(data, Mapping) and "message" in data else None
    if not isinstance(encoded, str):
        raise EventError("missing field message.data (base64 JSON with a job)")
    try:
        job = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise EventError("message.data is not base64-encoded JSON") from None
    name = job.get("job") if isinstance(job, Mapping) else None
    if name not in JOBS:
        raise EventError(f"message.data job is {name!r}, expected one of {', '.join(JOBS)}")
    return dict(job)
