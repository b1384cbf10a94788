"""Deliver real platform payloads (tests/events/) to each cloud's function entry points, the way the platform does.

AWS: the Lambda handlers called with the stored event dicts. Azure: the v2 app's registered user functions
called with the SDK's own TimerRequest / EventGridEvent / HttpRequest. GCP: functions-framework's app
test client, posting CloudEvents (structured or binary mode, from the `cloudevents` package).
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import azure.functions as func
import functions_framework
from azure.functions.timer import TimerRequest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def payload(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def load_module(path: Path, name: str) -> ModuleType:
    """Import a function's entry module by file, as the platform does (its folder is the app root)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Aws:
    name = "aws"

    def __init__(self) -> None:
        self.handler = load_module(ROOT / "functions" / "aws" / "handler.py", "kubebill_test_aws_handler")

    def created(self, bucket: str, key: str, *, via: str = "s3") -> Any:
        if via == "eventbridge":
            event = payload("eventbridge-s3-object-created.json")
            event["detail"]["bucket"]["name"] = bucket
            event["detail"]["object"]["key"] = quote_plus(key, safe="/")
            event["resources"] = [f"arn:aws:s3:::{bucket}"]
            return self.handler.merge_handler(event, None)
        event = payload("s3-object-created.json")
        record = event["Records"][0]
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = quote_plus(key, safe="/")
        if via == "sqs":
            sqs = payload("sqs-s3-notification.json")
            sqs["Records"][0]["body"] = json.dumps(event)
            return self.handler.merge_handler(sqs, None)
        return self.handler.merge_handler(event, None)

    def bad(self, event: Any) -> Any:
        return self.handler.merge_handler(event, None)

    def bad_events(self) -> list[Any]:
        s3 = payload("s3-object-created.json")
        del s3["Records"][0]["s3"]["object"]["key"]
        eventbridge = payload("eventbridge-s3-object-created.json")
        eventbridge["source"] = "aws.ec2"
        return [{"hello": "world"}, s3, eventbridge, ["not", "an", "object"]]

    def catch_up(self) -> Any:
        return self.handler.merge_handler(payload("eventbridge-scheduler-catch-up.json"), None)

    def export(self, day: str | None = None) -> Any:
        event = payload("eventbridge-scheduled-event.json") if day is None else {"date": day}
        return self.handler.export_handler(event, None)

    def metrics(self, authorization: str | None) -> tuple[int, bytes]:
        event = payload("lambda-function-url-metrics.json")
        if authorization is None:
            del event["headers"]["authorization"]
        else:
            event["headers"]["authorization"] = authorization
        reply = self.handler.metrics_handler(event, None)
        body = reply["body"]
        raw = base64.b64decode(body) if reply["isBase64Encoded"] else body.encode()
        return reply["statusCode"], raw


class Azure:
    name = "azure"

    def __init__(self) -> None:
        module = load_module(ROOT / "functions" / "azure" / "function_app.py", "kubebill_test_azure_app")
        self.app: func.FunctionApp = module.app
        self.registered = self.app.get_functions()  # builds them once; a second call would refuse the names
        self.functions: dict[str, Callable[..., Any]] = {
            fn.get_function_name(): fn.get_user_function() for fn in self.registered
        }

    def _grid(self, event: dict[str, Any]) -> func.EventGridEvent:
        return func.EventGridEvent(
            id=event["id"],
            data=event["data"],
            topic=event["topic"],
            subject=event["subject"],
            event_type=event["eventType"],
            event_time=datetime.fromisoformat(event["eventTime"][:26]).replace(tzinfo=UTC),
            data_version=event["dataVersion"],
        )

    def created(self, bucket: str, key: str, *, via: str = "eventgrid") -> Any:
        event = payload("eventgrid-blob-created.json")
        event["subject"] = f"/blobServices/default/containers/{bucket}/blobs/{key}"
        event["data"]["url"] = f"https://kubebillstore.blob.core.windows.net/{bucket}/{key}"
        return self.functions["merge_blob"](self._grid(event))

    def bad(self, event: dict[str, Any]) -> Any:
        return self.functions["merge_blob"](self._grid(event))

    def bad_events(self) -> list[Any]:
        deleted = payload("eventgrid-blob-created.json")
        deleted["eventType"] = "Microsoft.Resources.ResourceWriteSuccess"
        no_blob = payload("eventgrid-blob-created.json")
        no_blob["subject"] = "/blobServices/default/containers/kubebill-test"
        other = payload("eventgrid-blob-created.json")
        other["subject"] = "/subscriptions/0/resourceGroups/x"
        return [deleted, no_blob, other]

    def catch_up(self) -> Any:
        return self.functions["catch_up_timer"](TimerRequest(past_due=False))

    def export(self, day: str | None = None) -> Any:
        return self.functions["export_timer"](TimerRequest(past_due=True))

    def metrics(self, authorization: str | None) -> tuple[int, bytes]:
        headers = {"Accept": "text/plain"}
        if authorization is not None:
            headers["Authorization"] = authorization
        request = func.HttpRequest("GET", "https://kubebill.azurewebsites.net/api/metrics", headers=headers, body=b"")
        reply: func.HttpResponse = self.functions["metrics_http"](request)
        return reply.status_code, reply.get_body()


class Gcp:
    name = "gcp"
    source = ROOT / "functions" / "gcp" / "main.py"

    def __init__(self) -> None:
        self.objects = functions_framework.create_app("on_object_finalized", str(self.source), "cloudevent")
        self.schedule = functions_framework.create_app("on_schedule", str(self.source), "cloudevent")
        self.http = functions_framework.create_app("metrics", str(self.source), "http")

    @staticmethod
    def _post(app: Any, event: dict[str, Any], *, binary: bool = False) -> Any:
        attributes = {k: v for k, v in event.items() if k != "data"}
        cloud_event = CloudEvent(attributes, event.get("data"))
        headers, body = to_binary(cloud_event) if binary else to_structured(cloud_event)
        response = app.test_client().post("/", headers=headers, data=body)
        if response.status_code >= 500:
            raise RuntimeError(f"function failed with HTTP {response.status_code}")
        return response

    def created(self, bucket: str, key: str, *, via: str = "structured") -> Any:
        event = payload("gcs-object-finalized.cloudevent.json")
        event["source"] = f"//storage.googleapis.com/projects/_/buckets/{bucket}"
        event["subject"] = f"objects/{key}"
        event["data"].update(bucket=bucket, name=key, id=f"{bucket}/{key}/1750205524917163")
        return self._post(self.objects, event, binary=via == "binary")

    def bad(self, event: dict[str, Any]) -> Any:
        return self._post(self.objects, event)

    def bad_events(self) -> list[Any]:
        other_type = payload("gcs-object-finalized.cloudevent.json")
        other_type["type"] = "google.cloud.audit.log.v1.written"
        no_name = payload("gcs-object-finalized.cloudevent.json")
        del no_name["data"]["name"]
        no_data = copy.deepcopy(no_name)
        no_data["data"] = {"unexpected": True}
        return [other_type, no_name, no_data]

    def _job(self, job: dict[str, Any]) -> Any:
        event = payload("pubsub-scheduler-export.cloudevent.json")
        event["data"]["message"]["data"] = base64.b64encode(json.dumps(job).encode()).decode()
        return self._post(self.schedule, event)

    def catch_up(self) -> Any:
        return self._post(self.schedule, payload("pubsub-scheduler-catch-up.cloudevent.json"))

    def export(self, day: str | None = None) -> Any:
        if day is None:
            return self._post(self.schedule, payload("pubsub-scheduler-export.cloudevent.json"))
        return self._job({"job": "export", "date": day})

    def metrics(self, authorization: str | None) -> tuple[int, bytes]:
        headers = {} if authorization is None else {"Authorization": authorization}
        response = self.http.test_client().get("/", headers=headers)
        return response.status_code, response.get_data()


CLOUDS: dict[str, type[Aws] | type[Azure] | type[Gcp]] = {"aws": Aws, "azure": Azure, "gcp": Gcp}


def race(deliver: Callable[[str], Any], keys: list[str], *, timeout: float = 300) -> list[BaseException]:
    """Deliver one event per key from as many threads, released together; returns what they raised."""
    start = threading.Barrier(len(keys))
    failures: list[BaseException] = []

    def run(key: str) -> None:
        start.wait()
        try:
            deliver(key)
        except BaseException as exc:  # returned to the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return failures
