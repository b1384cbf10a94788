"""Parsing the stored platform payloads into (bucket, key) or a job: kubebill.events."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from kubebill import events, pipeline
from kubebill.events import EventError, ObjectEvent
from kubebill.settings import Settings
from tests.functions.clouds import payload

KEY = "allocations/cluster=demo/year=2025/month=06/day=17/opencost.parquet"


def test_s3_notification_key_is_url_decoded():
    assert events.object_events(payload("s3-object-created.json")) == [ObjectEvent("kubebill-test", KEY)]


def test_s3_plus_is_a_space_and_percent_2b_a_plus():
    event = payload("s3-object-created.json")
    event["Records"][0]["s3"]["object"]["key"] = "billing/a+b%2Bc%28d%29.csv"
    assert events.s3_notification(event)[0].key == "billing/a b+c(d).csv"


def test_s3_removal_is_not_a_created_object():
    event = payload("s3-object-created.json")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert events.s3_notification(event)[0].created is False


def test_eventbridge_object_created():
    assert events.object_events(payload("eventbridge-s3-object-created.json")) == [ObjectEvent("kubebill-test", KEY)]


def test_eventbridge_scheduled_event_is_recognized():
    assert events.is_scheduled(payload("eventbridge-scheduled-event.json"))
    assert not events.is_scheduled(payload("eventbridge-s3-object-created.json"))


def test_sqs_bodies_unwrap_s3_and_the_test_event():
    sqs = payload("sqs-s3-notification.json")
    assert events.is_sqs(sqs)
    first, second = (events.sqs_body(r) for r in sqs["Records"])
    assert events.object_events(first) == [ObjectEvent("kubebill-test", KEY)]
    assert events.is_s3_test_event(second)


def test_sqs_body_through_sns_is_unwrapped():
    s3 = payload("s3-object-created.json")
    record = {"body": json.dumps({"Type": "Notification", "Message": json.dumps(s3)})}
    assert events.object_events(events.sqs_body(record))[0].key == KEY


def test_event_grid_subject_names_container_and_blob():
    event = payload("eventgrid-blob-created.json")
    assert events.event_grid_blob(event["eventType"], event["subject"]) == ObjectEvent("kubebill-test", KEY)


def test_gcs_finalized_data():
    event = payload("gcs-object-finalized.cloudevent.json")
    assert events.gcs_object(event["type"], event["data"]) == ObjectEvent("kubebill-test", KEY)


def test_pubsub_scheduler_jobs():
    assert events.pubsub_job(payload("pubsub-scheduler-export.cloudevent.json")["data"]) == {"job": "export"}
    assert events.pubsub_job(payload("pubsub-scheduler-catch-up.cloudevent.json")["data"])["job"] == "catch-up"


@pytest.mark.parametrize(
    ("parse", "message"),
    [
        (lambda: events.object_events({"Records": "nope"}), "not an S3 event"),
        (
            lambda: events.object_events({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
            "s3",
        ),
        (
            lambda: events.s3_notification(
                {"Records": [{"eventName": "x", "s3": {"bucket": {"name": "b"}, "object": {"key": "%ff"}}}]}
            ),
            "UTF-8",
        ),
        (lambda: events.sqs_body({"body": "{not json"}), "not JSON"),
        (
            lambda: events.event_grid_blob("Microsoft.Storage.BlobCreated", "/blobServices/default/containers/c"),
            "subject",
        ),
        (lambda: events.gcs_object("google.cloud.storage.object.v1.finalized", {"bucket": "b"}), "name"),
        (lambda: events.pubsub_job({"message": {"data": "!!"}}), "base64"),
        (lambda: events.pubsub_job({"message": {"data": base64.b64encode(b'{"job": "x"}').decode()}}), "job"),
    ],
)
def test_bad_payloads_name_what_is_wrong(parse, message):
    with pytest.raises(EventError, match=message):
        parse()


@pytest.mark.parametrize(
    ("today", "restate", "first", "last", "count"),
    [
        (date(2025, 6, 18), 3, date(2025, 6, 15), date(2025, 6, 17), 3),
        (date(2025, 7, 2), 3, date(2025, 6, 1), date(2025, 7, 1), 31),  # early in a month: all of June too
        (date(2025, 3, 1), 1, date(2025, 2, 1), date(2025, 2, 28), 28),
        (date(2025, 6, 18), 0, None, None, 0),
    ],
)
def test_catch_up_days(today, restate, first, last, count):
    days = pipeline.catch_up_days(Settings(restate_days=restate), today)
    assert len(days) == count == len(set(days))
    if count:
        assert (days[0], days[-1]) == (first, last)
