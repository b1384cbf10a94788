"""Azure Functions entry points (Python v2 programming model): thin adapters, one `kubebill.pipeline` call each.

- `export_timer`: NCRONTAB `%KUBEBILL_EXPORT_SCHEDULE%` (app setting; kubebill's default `0 10 0 * * *`).
- `merge_blob`: an Event Grid trigger subscribed to the storage account's `Microsoft.Storage.BlobCreated`
  events (Event Grid schema; filter the subscription on the input prefixes). An Event Grid trigger rather
  than a blob trigger with `source=EVENT_GRID`: the event's subject names container and blob without the
  function reading the blob, and Terraform wires it with a plain `azure_function_endpoint`.
- `catch_up_timer`: NCRONTAB `%KUBEBILL_CATCH_UP_SCHEDULE%` (default `0 40 0 * * *`).
- `metrics_http`: GET /api/metrics, function-level key plus `Authorization: Bearer <KUBEBILL_METRICS_TOKEN>`.
"""

from __future__ import annotations

import azure.functions as func

from kubebill import events, runtime
from kubebill.events import EventError

SOURCE = "azure"
runtime.setup_logging(propagate=True)  # the Python worker forwards records to Application Insights

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.timer_trigger(arg_name="timer", schedule="%KUBEBILL_EXPORT_SCHEDULE%", run_on_startup=False, use_monitor=True)
def export_timer(timer: func.TimerRequest) -> None:
    runtime.export(runtime.current(), source=SOURCE, past_due=timer.past_due)


@app.event_grid_trigger(arg_name="event")
def merge_blob(event: func.EventGridEvent) -> None:
    rt = runtime.current()
    try:
        obj = events.event_grid_blob(event.event_type or "", event.subject or "")
    except EventError as exc:
        runtime.bad_event(rt, "merge", str(exc), source=SOURCE, event_id=event.id)
        return
    runtime.object_created(rt, obj, source=SOURCE)


@app.timer_trigger(arg_name="timer", schedule="%KUBEBILL_CATCH_UP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def catch_up_timer(timer: func.TimerRequest) -> None:
    runtime.catch_up(runtime.current(), source=SOURCE, past_due=timer.past_due)


@app.route(route="metrics", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def metrics_http(req: func.HttpRequest) -> func.HttpResponse:
    reply = runtime.metrics(runtime.current(), req.headers.get("Authorization"), source=SOURCE)
    return func.HttpResponse(
        reply.body,
        status_code=reply.status,
        mimetype=None,
        headers={
            "Content-Type": reply.content_type,
            **reply.headers,
        },
    )
