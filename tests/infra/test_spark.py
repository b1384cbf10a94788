"""engine = "spark" in each module: the functions record (KUBEBILL_ENGINE=spark), a scheduled Spark job merges
with the merge function's rights only, and runs the artifact `kubebill package --target spark` builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubebill.devtools import packaging, spark_job
from tests.infra.hcl import CLOUDS, module, one
from tests.infra.render import evaluate, locals_block, variable_block
from tests.infra.wiring import FUNCTIONS, WRITE_ACTIONS

ENGINE = '${var.engine == "spark" ? "spark" : null}'


@pytest.mark.parametrize("cloud", CLOUDS)
def test_engine_is_a_validated_variable_that_reaches_the_functions(cloud: str) -> None:
    mod = module(cloud)
    engine = mod.named("variable")["engine"]
    assert engine["default"] == "function"
    assert one(engine["validation"])["condition"] == '${contains(["function", "spark"], var.engine)}'
    assert mod.locals()["settings"]["KUBEBILL_ENGINE"] == ENGINE
    assert mod.locals()["spark"] == '${var.engine == "spark"}'
    package = mod.named("variable")["spark_package_dir"]
    assert package["default"] is None
    assert any("var.engine" in v["condition"] for v in package["validation"]), "spark needs the artifact"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_examples_pass_the_engine_and_the_spark_artifact(cloud: str) -> None:
    call = module(f"examples/{cloud}").named("module")["kubebill"]
    assert call["engine"] == "${var.engine}"
    assert call["spark_package_dir"] == '${var.engine == "spark" ? var.spark_package_dir : null}'
    assert module(f"examples/{cloud}").default("spark_package_dir") == "../../../dist/spark"


def test_the_job_runs_the_entry_script_the_package_builds() -> None:
    assert (FUNCTIONS / "spark" / spark_job.ENTRY).is_file()
    aws, gcp, azure = module("aws"), module("gcp"), module("azure")
    assert spark_job.ENTRY in aws.locals()["spark_artifacts"]
    assert aws.locals()["spark_deps"] == "kubebill-spark-deps-${var.architecture}.tar.gz"
    assert gcp.locals()["spark_deps"] == "kubebill-spark-deps-x86_64.tar.gz"  # Dataproc Serverless is x86_64
    assert spark_job.ENTRY in gcp.locals()["spark_artifacts"] and spark_job.ENTRY in azure.locals()["spark_files"]
    assert 'fileset(coalesce(var.spark_package_dir, "."), "kubebill-*-py3-none-any.whl")' in azure.text()


def test_aws_emr_serverless_job_started_by_the_scheduler_with_the_merge_rights() -> None:
    aws = module("aws")
    app = aws.resource("aws_emrserverless_application", "spark")
    assert app["count"] == "${local.spark ? 1 : 0}" and app["type"] == "spark"
    assert app["architecture"] == "${upper(var.architecture)}"
    target = one(aws.resource("aws_scheduler_schedule", "spark")["target"])
    assert target["arn"] == "arn:${local.partition}:scheduler:::aws-sdk:emrserverless:startJobRun"
    assert 'ClientToken = "<aws.scheduler.execution-id>"' in target["input"]  # a retried start is one run
    assert 'EntryPointArguments = ["--store", local.settings.KUBEBILL_STORE]' in target["input"]
    conf = aws.locals()["spark_conf"]
    assert "spark.archives=s3://${local.bucket}/${var.artifacts_prefix}/spark/${local.spark_deps}#deps" in conf
    assert "spark.executorEnv.PYTHONPATH=./deps" in conf and 'KUBEBILL_ENGINE = "spark"' in conf

    policy = aws.resource("aws_iam_policy_document", "spark_job", "data")
    # exactly the merge function's data rights (the one merge_data document), plus its own artifacts and logs
    assert policy["source_policy_documents"] == ["${data.aws_iam_policy_document.merge_data.json}"]
    merge = aws.resource("aws_iam_policy_document", "merge", "data")
    assert "${data.aws_iam_policy_document.merge_data.json}" in merge["source_policy_documents"]
    assert not [s for s in policy["statement"] if any(map(WRITE_ACTIONS.search, s["actions"]))]
    reads = next(s for s in policy["statement"] if s["sid"] == "ReadTheJob")
    assert (
        reads["resources"] == '${[for key, object in aws_s3_object.spark : "${aws_s3_bucket.store.arn}/${object.key}"]}'
    )
    assert not any(a.endswith(":*") or a == "*" for s in policy["statement"] for a in s["actions"])

    scheduler = aws.resource("aws_iam_policy_document", "scheduler", "data")
    blocks = {one(d["statement"]["content"])["sid"]: d for d in scheduler["dynamic"]}
    start = one(blocks["StartSparkMerge"]["statement"]["content"])
    assert start["actions"] == ["emr-serverless:StartJobRun"] and start["resources"] == ["${statement.value.arn}"]
    passing = one(blocks["PassTheJobRole"]["statement"]["content"])
    assert passing["actions"] == ["iam:PassRole"]
    assert one(passing["condition"])["values"] == ["emr-serverless.amazonaws.com"]


def test_gcp_dataproc_batch_created_by_cloud_scheduler_with_the_merge_rights() -> None:
    gcp = module("gcp")
    job = gcp.resource("google_cloud_scheduler_job", "spark")
    http = one(job["http_target"])
    assert (
        http["uri"] == "https://dataproc.googleapis.com/v1/projects/${var.project_id}/locations/${var.region}/batches"
    )
    assert one(http["oauth_token"])["service_account_email"] == "${google_service_account.spark_run[0].email}"
    assert "batchId" not in http["body"]  # Dataproc names each run
    assert "serviceAccount = google_service_account.spark[0].email" in http["body"]
    assert '"spark.dataproc.driverEnv.KUBEBILL_ENGINE" = "spark"' in http["body"]
    role = gcp.resource("google_project_iam_custom_role", "spark_run")
    assert role["permissions"] == ["dataproc.batches.create", "dataproc.batches.get"]
    write = gcp.resource("google_storage_bucket_iam_member", "spark_write_results")
    assert write["role"] == "roles/storage.objectUser"
    assert one(write["condition"])["expression"] == (
        'resource.name.startsWith("${local.object_names}${local.results_key_prefix}")'
    )
    roles = {
        name: body["role"]
        for name, body in gcp.resources("google_storage_bucket_iam_member").items()
        if "google_service_account.spark[0]" in body["member"]
    }
    assert roles == {
        "spark_read": "roles/storage.objectViewer",
        "spark_write_results": "roles/storage.objectUser",
        "spark_reads_job": "roles/storage.objectViewer",
    }
    assert (
        "${local.spark_prefix}"
        in one(gcp.resource("google_storage_bucket_iam_member", "spark_reads_job")["condition"])["expression"]
    )


def test_azure_databricks_job_with_the_merge_write_condition() -> None:
    azure = module("azure")
    assignment = azure.resource("azurerm_role_assignment", "spark_container_write")
    assert assignment["condition"] == '${local.write_conditions["merge"]}'
    assert assignment["scope"] == "${local.container_scope}"
    job = azure.resource("databricks_job", "merge")
    assert one(job["schedule"])["timezone_id"] == "UTC" and job["max_concurrent_runs"] == 1
    task = one(job["task"])
    assert one(task["spark_python_task"])["parameters"] == ["--store", "${local.settings.KUBEBILL_STORE}"]
    cluster = one(one(job["job_cluster"])["new_cluster"])
    env = cluster["spark_env_vars"]
    assert 'KUBEBILL_ENGINE = "spark"' in env and "AZURE_CLIENT_SECRET = local.secret" in env
    assert azure.locals()["secret"] == "{{secrets/${var.name}/client-secret}}"  # a reference, never the value
    assert not re.search(r"account_key|connection_string", azure.text().split("databricks_job")[-1])


def test_azure_job_installs_every_pinned_requirement_of_the_package(tmp_path: Path) -> None:
    azure = module("azure")
    package = tmp_path / "spark"
    package.mkdir()
    pinned = spark_job.requirements(packaging.source_root())
    (package / "requirements.txt").write_text(spark_job.requirements_text(pinned))
    config = "\n".join(
        [
            variable_block(azure.text(), "engine"),
            variable_block(azure.text(), "spark_package_dir"),
            locals_block((azure.path / "spark.tf").read_text(), "spark_requirements"),
        ]
    )
    found = evaluate(
        tmp_path / "tf", config, "local.spark_requirements", {"engine": "spark", "spark_package_dir": str(package)}
    )
    assert found == pinned and "azure-storage-blob" in {packaging._name(r) for r in found}
    assert evaluate(tmp_path / "off", config, "local.spark_requirements") == []
