"""Wiring of infra/gcp: Eventarc and Scheduler triggers, bucket-scoped roles, the billing extract, BigQuery."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.infra.hcl import module, one
from tests.infra.render import evaluate
from tests.infra.wiring import FUNCTIONS, default_schedules, entry_points

GCP = module("gcp")
FUNCTIONS_BY_ENTRY = {
    "on_object_finalized": "on_object_finalized",
    "on_schedule": "on_schedule",
    "metrics": "metrics",
}
RESULTS_ONLY = 'resource.name.startsWith("${local.object_names}${local.results_key_prefix}")'
# the account each deployment runs as (the two on_schedule deployments: export, and the catch-up merge)
ACCOUNTS = {"on_object_finalized": "merge", "on_schedule": "each.value.account", "metrics": "metrics"}


def test_entry_points_exist_in_the_function_code() -> None:
    defined = entry_points(FUNCTIONS / "gcp" / "main.py")
    functions = GCP.resources("google_cloudfunctions2_function")
    assert set(functions) == set(FUNCTIONS_BY_ENTRY)
    for name, body in functions.items():
        build = one(body["build_config"])
        assert build["entry_point"] == FUNCTIONS_BY_ENTRY[name]
        assert build["entry_point"] in defined
        source = one(one(build["source"])["storage_source"])
        assert source["object"] == "${google_storage_bucket_object.source.name}"
        service = one(body["service_config"])
        account = ACCOUNTS[name] if name == "on_schedule" else f'"{ACCOUNTS[name]}"'
        assert service["service_account_email"] == f"${{google_service_account.function[{account}].email}}"
        if name == "metrics":  # a smaller instance: DuckDB's limit follows its 1 GiB
            assert service["environment_variables"] == '${merge(local.environment, {KUBEBILL_MEMORY_LIMIT = "716MB"})}'
            assert service["available_memory"] == "1Gi"
        else:
            assert service["environment_variables"] == "${local.environment}"
        assert build["service_account"] == "${google_service_account.build.id}"


def test_object_finalized_on_the_bucket_fires_the_merge() -> None:
    trigger = one(GCP.resource("google_cloudfunctions2_function", "on_object_finalized")["event_trigger"])
    assert trigger["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert one(trigger["event_filters"]) == {"attribute": "bucket", "value": "${google_storage_bucket.store.name}"}
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["service_account_email"] == "${google_service_account.trigger.email}"


def test_scheduler_jobs_publish_to_their_own_deployment_running_as_the_job_account() -> None:
    function = GCP.resource("google_cloudfunctions2_function", "on_schedule")
    assert function["for_each"] == "${local.scheduled}"
    assert GCP.locals()["scheduled"] == {
        "export": {"name": "export", "account": "export"},
        "catch_up": {"name": "catch-up", "account": "merge"},  # the catch-up is a merge: the merge's rights
    }
    trigger = one(function["event_trigger"])
    assert trigger["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["pubsub_topic"] == "${google_pubsub_topic.schedule[each.key].id}"
    assert GCP.resource("google_pubsub_topic", "schedule")["for_each"] == "${local.scheduled}"
    jobs = GCP.resources("google_cloud_scheduler_job")
    assert set(jobs) == {"export", "catch_up", "spark"}  # spark: engine = "spark" (tests/infra/test_spark.py)
    jobs.pop("spark")
    defaults = default_schedules()
    for name, job in jobs.items():
        target = one(job["pubsub_target"])
        assert target["topic_name"] == f'${{google_pubsub_topic.schedule["{name}"].id}}'
        minute, hour = GCP.default(f"{name}_schedule").split()[:2]
        assert (minute, hour) == defaults[name]
        assert job["time_zone"] == "Etc/UTC"
    assert jobs["export"]["pubsub_target"][0]["data"] == '${base64encode(jsonencode({job = "export"}))}'
    assert jobs["catch_up"]["pubsub_target"][0]["data"] == '${base64encode(jsonencode({job = "catch-up"}))}'
    assert jobs["export"]["paused"] == "${var.source_url == null}"


def test_scheduler_payload_as_terraform_renders_it(tmp_path: Path) -> None:
    data = evaluate(tmp_path, "", 'base64encode(jsonencode({ job = "catch-up" }))')
    assert json.loads(base64.b64decode(data)) == {"job": "catch-up"}


def test_metrics_is_http_with_the_token_from_secret_manager() -> None:
    metrics = GCP.resource("google_cloudfunctions2_function", "metrics")
    assert "event_trigger" not in metrics
    secret = one(one(metrics["service_config"])["secret_environment_variables"])
    assert secret["key"] == "KUBEBILL_METRICS_TOKEN"
    assert secret["secret"] == "${google_secret_manager_secret.metrics_token.secret_id}"
    token = GCP.named("variable")["metrics_token"]
    assert token["ephemeral"] is True and token["sensitive"] is True
    version = GCP.resource("google_secret_manager_secret_version", "metrics_token")
    assert version["secret_data_wo"] == "${var.metrics_token}"
    assert "secret_data" not in version  # write-only: the token never reaches the state
    assert "KUBEBILL_METRICS_TOKEN" not in GCP.locals()["settings"]


def _bucket_roles(account: str) -> dict[str, dict]:
    member = f'serviceAccount:${{google_service_account.function["{account}"].email}}'
    for rtype in ("google_project_iam_member", "google_project_iam_binding", "google_project_iam_policy"):
        for name, body in GCP.resources(rtype).items():
            assert body.get("member") != member, f"{rtype}.{name} gives the {account} account a project role"
    roles = {n: b for n, b in GCP.resources("google_storage_bucket_iam_member").items() if b["member"] == member}
    assert all(role["bucket"] == "${google_storage_bucket.store.name}" for role in roles.values())
    return roles


def test_one_service_account_per_function() -> None:
    accounts = GCP.resource("google_service_account", "function")
    assert accounts["for_each"] == '${toset(["export", "merge", "metrics"])}'
    assert accounts["account_id"] == "${var.name}-${each.key}"
    spark = {"spark", "spark_run"}  # engine = "spark" (tests/infra/test_spark.py)
    assert set(GCP.resources("google_service_account")) == {"function", "trigger", "build", "billing_extract", *spark}


def test_export_only_creates_allocation_objects_and_only_with_a_source_url() -> None:
    roles = _bucket_roles("export")
    assert set(roles) == {"export_write_allocations"}
    allocations = roles["export_write_allocations"]
    assert allocations["count"] == "${var.source_url == null ? 0 : 1}"
    assert allocations["role"] == "roles/storage.objectCreator"  # create only: never overwrite or delete inputs
    assert one(allocations["condition"])["expression"] == (
        'resource.name.startsWith("${local.object_names}${local.allocations_key_prefix}")'
    )


def test_merge_reads_the_bucket_and_writes_only_results() -> None:
    roles = _bucket_roles("merge")
    assert set(roles) == {"merge_read", "merge_write_results"}
    assert roles["merge_read"]["role"] == "roles/storage.objectViewer" and "condition" not in roles["merge_read"]
    assert roles["merge_write_results"]["role"] == "roles/storage.objectUser"
    assert one(roles["merge_write_results"]["condition"])["expression"] == RESULTS_ONLY
    assert GCP.locals()["object_names"] == "projects/_/buckets/${local.bucket}/objects/"


def test_metrics_reads_only_results_and_allocations_and_the_token() -> None:
    roles = _bucket_roles("metrics")
    assert set(roles) == {"metrics_read"}
    assert roles["metrics_read"]["role"] == "roles/storage.objectViewer"
    assert one(roles["metrics_read"]["condition"])["expression"] == (
        'resource.type == "storage.googleapis.com/Bucket" || '
        'resource.name.startsWith("${local.object_names}${local.results_key_prefix}") || '
        'resource.name.startsWith("${local.object_names}${local.allocations_key_prefix}")'
    )
    secret = GCP.resource("google_secret_manager_secret_iam_member", "metrics_token")
    assert secret["member"] == 'serviceAccount:${google_service_account.function["metrics"].email}'
    assert len(GCP.resources("google_secret_manager_secret_iam_member")) == 1
    public = GCP.resource("google_cloud_run_v2_service_iam_member", "metrics_public")
    assert public["member"] == "allUsers" and public["count"] == '${var.metrics_auth == "iam" ? 0 : 1}'
    assert GCP.default("metrics_auth") == "token"


def test_bucket_is_uniform_private_and_versioned() -> None:
    for name in ("store", "sources"):
        bucket = GCP.resource("google_storage_bucket", name)
        assert bucket["uniform_bucket_level_access"] is True
        assert bucket["public_access_prevention"] == "enforced"
    store = GCP.resource("google_storage_bucket", "store")
    assert one(store["versioning"])["enabled"] is True
    state_rule = [r for r in store["lifecycle_rule"] if "matches_prefix" in one(r["condition"])]
    assert one(one(state_rule)["condition"])["matches_prefix"] == ["${local.results_key_prefix}_state/"]


def test_billing_extract_exports_parquet_per_day_under_the_billing_prefix(tmp_path: Path) -> None:
    transfer = GCP.resource("google_bigquery_data_transfer_config", "billing_extract")
    assert transfer["data_source_id"] == "scheduled_query"
    assert transfer["params"] == {"query": "${local.billing_extract_query}"}
    assert GCP.locals()["billing_extract_uri"].startswith("gs://${local.bucket}/${local.billing_key_prefix}gcp/")
    template = (GCP.path / "billing_extract.sql.tftpl").read_text()
    sql = evaluate(
        tmp_path,
        "",
        f"templatefile({json.dumps(str(GCP.path / 'billing_extract.sql.tftpl'))}, "
        '{ restate_days = 3, uri = "gs://b/billing/gcp/t", table = "p.d.gcp_billing_export_resource_v1_0_0_0" })',
    )
    assert "${" not in sql and "${" in template
    assert "uri = 'gs://b/billing/gcp/t/usage_date=%s/part-*.parquet'" in sql
    assert "format = 'PARQUET'" in sql and "overwrite = true" in sql
    assert "FROM `p.d.gcp_billing_export_resource_v1_0_0_0`" in sql
    assert "INTERVAL 3 DAY" in sql and "@run_date" in sql
    writer = GCP.resource("google_storage_bucket_iam_member", "billing_extract_writes")
    assert "${local.billing_key_prefix}gcp/" in one(writer["condition"])["expression"]


def test_results_table_is_external_over_the_results_parquet() -> None:
    table = GCP.resource("google_bigquery_table", "results")
    external = one(table["external_data_configuration"])
    assert external["source_format"] == "PARQUET"
    assert external["source_uris"] == ["gs://${local.bucket}/${local.results_key_prefix}parquet/*"]


def test_builds_run_as_their_own_account_with_build_roles_only() -> None:
    build = GCP.resource("google_project_iam_member", "build")
    assert build["for_each"] == '${toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])}'
    assert build["member"] == "serviceAccount:${google_service_account.build.email}"
    reads = GCP.resource("google_storage_bucket_iam_member", "build_reads_sources")
    assert (reads["bucket"], reads["role"]) == ("${google_storage_bucket.sources.name}", "roles/storage.objectViewer")
