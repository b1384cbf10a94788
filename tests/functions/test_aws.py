"""AWS specifics: SQS partial batch failure, the scheduled catch-up shapes, the HTTP reply shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubebill.store import LocalStore
from tests.functions.clouds import Aws, payload
from tests.functions.conftest import BUCKET, TOKEN, Lines


@pytest.fixture(scope="module")
def aws() -> Aws:
    return Aws()


def test_sqs_batch_reports_only_the_failed_message(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: Lines
):
    broken = tmp_path / BUCKET
    broken.write_text("not a directory: every store operation fails")
    monkeypatch.setenv("KUBEBILL_STORE", str(broken))
    batch = payload("sqs-s3-notification.json")
    garbage = dict(batch["Records"][1], messageId="9a3c1c43-7f64-4fc4-a6f5-46d3f3a4e4b1", body="{not json")
    batch["Records"].append(garbage)
    reply = aws.handler.merge_handler(batch, None)
    assert reply == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    decisions = [line["decision"] for line in lines.take()]
    assert decisions == ["error", "bad-event"]  # the s3:TestEvent is acknowledged silently


def test_sqs_batch_all_good_reports_no_failure(aws: Aws, local_store: LocalStore, lines: Lines):
    batch = payload("sqs-s3-notification.json")
    body = json.loads(batch["Records"][0]["body"])
    body["Records"][0]["s3"]["object"]["key"] = "results/csv/year%3D2025/month%3D06/result.csv"
    batch["Records"][0]["body"] = json.dumps(body)
    assert aws.handler.merge_handler(batch, None) == {"batchItemFailures": []}
    assert [line["decision"] for line in lines.take()] == ["ignored"]


def test_metrics_reply_is_a_function_url_response(aws: Aws, local_store: LocalStore):
    event = payload("lambda-function-url-metrics.json")
    event["headers"]["authorization"] = f"Bearer {TOKEN}"
    reply = aws.handler.metrics_handler(event, None)
    assert reply["statusCode"] == 200
    assert reply["headers"]["content-type"].startswith("text/plain; version=0.0.4")
    assert reply["isBase64Encoded"] is False
    refused = aws.handler.metrics_handler({"version": "2.0"}, None)
    assert (refused["statusCode"], refused["body"]) == (401, "unauthorized\n")
    assert refused["headers"]["WWW-Authenticate"] == "Bearer"


def test_export_with_a_bad_date_is_a_bad_event(aws: Aws, local_store: LocalStore, lines: Lines):
    aws.handler.export_handler({"date": "yesterday"}, None)
    aws.handler.export_handler({"date": 20250617}, None)
    assert [line["decision"] for line in lines.take()] == ["bad-event", "bad-event"]


@pytest.mark.parametrize("via", ["eventbridge", "sqs"])
def test_eventbridge_and_sqs_deliveries_merge(aws: Aws, aks_day: str, lines: Lines, via: str):
    key = aks_day
    reply = aws.created(BUCKET, key, via=via)
    if via == "sqs":
        assert reply == {"batchItemFailures": []}
    [line] = lines.take()
    assert (line["decision"], line["key"], line["days"]) == ("merged", key, ["2025-06-17"])


def test_scheduled_event_to_the_merge_function_is_the_catch_up(aws: Aws, local_store: LocalStore, lines: Lines):
    aws.handler.merge_handler(payload("eventbridge-scheduled-event.json"), None)
    assert lines.take()[0]["event"] == "catch-up"
