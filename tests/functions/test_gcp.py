"""GCP specifics: CloudEvents in binary mode (ce-* headers) reach the same routing as structured ones."""

from __future__ import annotations

import pytest

from kubebill.store import LocalStore
from tests.functions.clouds import Gcp
from tests.functions.conftest import BUCKET, Lines


@pytest.fixture(scope="module")
def gcp() -> Gcp:
    return Gcp()


def test_finalized_event_in_binary_mode_merges(gcp: Gcp, aks_day: str, lines: Lines):
    response = gcp.created(BUCKET, aks_day, via="binary")
    assert response.status_code == 200
    [line] = lines.take()
    assert (line["decision"], line["days"]) == ("merged", ["2025-06-17"])


def test_a_storage_event_that_is_not_a_finalize_is_acknowledged(gcp: Gcp, local_store: LocalStore, lines: Lines):
    from tests.functions.clouds import payload

    event = payload("gcs-object-finalized.cloudevent.json")
    event["type"] = "google.cloud.storage.object.v1.deleted"
    assert gcp.bad(event).status_code == 200
    [line] = lines.take()
    assert (line["decision"], line["reason"]) == ("ignored", "not an object-created event")


def test_schedule_job_with_an_unknown_name_is_a_bad_event(gcp: Gcp, local_store: LocalStore, lines: Lines):
    assert gcp._job({"job": "reindex"}).status_code == 200
    [line] = lines.take()
    assert line["decision"] == "bad-event"
    assert "reindex" in line["reason"]
