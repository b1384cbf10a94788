"""AWS Lambda entry points: thin adapters from Lambda events to one `kubebill.pipeline` call each.

- `export_handler`: EventBridge Scheduler (any payload; `{"date": "YYYY-MM-DD"}` picks the day, else yesterday).
- `merge_handler`: S3 event notifications, EventBridge "Object Created", SQS-wrapped S3 notifications
  (partial batch failure: `batchItemFailures`), and the scheduled catch-up `{"kubebill": "catch-up"}`.
- `metrics_handler`: Lambda Function URL / API Gateway v2 HTTP event with `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import base64
from typing import Any

from kubebill import events, runtime
from kubebill.events import EventError

SOURCE = "aws"
runtime.setup_logging()


def export_handler(event: Any, context: Any = None) -> dict[str, Any]:
    day = event.get("date") if isinstance(event, dict) else None
    if day is not None and not isinstance(day, str):
        return runtime.bad_event(runtime.current(), "export", f"field date is {day!r}, expected YYYY-MM-DD")
    return runtime.export(runtime.current(), day=day, source=SOURCE)


def _objects(rt: runtime.Runtime, payload: Any, source: str) -> list[dict[str, Any]]:
    """Handle every object an S3 notification / EventBridge event names; raises on transient errors."""
    if events.is_s3_test_event(payload):
        return [{"event": "s3:TestEvent", "decision": "ignored"}]
    return [runtime.object_created(rt, obj, source=source) for obj in events.object_events(payload)]


def _sqs(rt: runtime.Runtime, event: dict[str, Any]) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        message_id = record.get("messageId", "")
        try:
            payload = events.sqs_body(record)
            _objects(rt, payload, f"{SOURCE}:sqs")
        except EventError as exc:
            runtime.bad_event(rt, "sqs-message", str(exc), source=SOURCE, message_id=message_id)
        except Exception:  # logged by runtime; only this message goes back to the queue
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def merge_handler(event: Any, context: Any = None) -> dict[str, Any]:
    rt = runtime.current()
    if isinstance(event, dict) and (event.get("kubebill") == "catch-up" or events.is_scheduled(event)):
        return runtime.catch_up(rt, source=SOURCE)
    if events.is_sqs(event):
        return _sqs(rt, event)
    try:
        handled = _objects(rt, event, SOURCE)
    except EventError as exc:
        return runtime.bad_event(rt, "merge", str(exc), source=SOURCE)
    return {"events": handled}


def metrics_handler(event: Any, context: Any = None) -> dict[str, Any]:
    headers = event.get("headers") if isinstance(event, dict) else None
    reply = runtime.metrics(runtime.current(), runtime.header(headers, "authorization"), source=SOURCE)
    try:
        body, encoded = reply.body.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(reply.body).decode("ascii"), True
    return {
        "statusCode": reply.status,
        "headers": {"content-type": reply.content_type, **reply.headers},
        "body": body,
        "isBase64Encoded": encoded,
    }
