"""Google Cloud Functions (gen2, functions-framework) entry points: one `kubebill.pipeline` call each.

- `on_object_finalized`: Eventarc CloudEvent `google.cloud.storage.object.v1.finalized` -> merge.
- `on_schedule`: Pub/Sub CloudEvent from Cloud Scheduler; message data is base64 JSON
  `{"job": "export"}` (optionally `"date": "YYYY-MM-DD"`) or `{"job": "catch-up"}`.
- `metrics`: HTTP GET with `Authorization: Bearer <KUBEBILL_METRICS_TOKEN>`.

Returning normally acknowledges an event; raising (transient errors only) makes Eventarc retry.
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

from kubebill import events, runtime
from kubebill.events import EventError

SOURCE = "gcp"
runtime.setup_logging()  # JSON lines on stdout: Cloud Logging reads them as jsonPayload with severity


@functions_framework.cloud_event
def on_object_finalized(cloud_event: CloudEvent) -> None:
    rt = runtime.current()
    try:
        obj = events.gcs_object(str(cloud_event["type"]), cloud_event.get_data())
    except EventError as exc:
        runtime.bad_event(rt, "merge", str(exc), source=SOURCE, event_id=cloud_event["id"])
        return
    runtime.object_created(rt, obj, source=SOURCE)


@functions_framework.cloud_event
def on_schedule(cloud_event: CloudEvent) -> None:
    rt = runtime.current()
    try:
        job: dict[str, Any] = events.pubsub_job(cloud_event.get_data())
    except EventError as exc:
        runtime.bad_event(rt, "schedule", str(exc), source=SOURCE, event_id=cloud_event["id"])
        return
    if job["job"] == "export":
        day = job.get("date")
        runtime.export(rt, day=day if isinstance(day, str) else None, source=SOURCE)
    else:
        runtime.catch_up(rt, source=SOURCE)


@functions_framework.http
def metrics(request: flask.Request) -> flask.Response:
    reply = runtime.metrics(runtime.current(), request.headers.get("Authorization"), source=SOURCE)
    return flask.Response(reply.body, status=reply.status, content_type=reply.content_type, headers=reply.headers)
