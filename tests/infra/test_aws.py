"""Wiring of infra/aws: triggers, each function's role and its scopes, schedules, the bill export, the query table."""

from __future__ import annotations

import re

import pytest

from tests.infra.hcl import dynamic, module, one
from tests.infra.wiring import FUNCTIONS, WRITE_ACTIONS, default_schedules, entry_points

AWS = module("aws")
RESULTS_OBJECTS = "${aws_s3_bucket.store.arn}/${local.results_key_prefix}*"


ALLOCATIONS_OBJECTS = "${aws_s3_bucket.store.arn}/${local.input_prefixes.allocations}*"
BILLING_OBJECTS = "${aws_s3_bucket.store.arn}/${local.input_prefixes.billing}*"


def statements(function: str) -> list[dict]:
    """Every statement of one function's policy: static ones, the dynamic blocks' contents, the common ones."""
    policy = AWS.resource("aws_iam_policy_document", function, "data")
    sources = policy["source_policy_documents"]
    assert sources[0] == f'${{data.aws_iam_policy_document.common["{function}"].json}}'
    # the merge's data rights live in merge_data, which the Spark job role shares (tests/infra/test_spark.py)
    assert sources[1:] == (["${data.aws_iam_policy_document.merge_data.json}"] if function == "merge" else [])
    bodies = [policy, AWS.resource("aws_iam_policy_document", "common", "data")]
    if function == "merge":
        bodies.append(AWS.resource("aws_iam_policy_document", "merge_data", "data"))
    found = []
    for body in bodies:
        found += list(body.get("statement", []))
        found += [one(entry["statement"]["content"]) for entry in body.get("dynamic", [])]
    return found


def actions_on(function: str, pattern: re.Pattern[str]) -> dict[str, set[str]]:
    """resource -> the actions matching `pattern` one function's policy allows on it."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(function):
        for action in statement["actions"]:
            if pattern.search(action):
                for resource in statement["resources"]:
                    allowed.setdefault(resource, set()).add(action)
    return allowed


def test_handlers_exist_in_the_lambda_code() -> None:
    handlers = {name: spec["handler"] for name, spec in AWS.locals()["functions"].items()}
    assert handlers == {
        "export": "handler.export_handler",
        "merge": "handler.merge_handler",
        "metrics": "handler.metrics_handler",
    }
    defined = entry_points(FUNCTIONS / "aws" / "handler.py")
    for handler in handlers.values():
        assert handler.split(".", 1)[1] in defined, f"{handler} is not defined in functions/aws/handler.py"


def test_functions_run_from_the_package_zip_uploaded_to_s3_on_arm64_by_default() -> None:
    fn = AWS.resource("aws_lambda_function", "this")
    assert fn["for_each"] == "${local.functions}"
    assert "filename" not in fn, "Lambda refuses a direct upload over 50 MB; the zips are 60-70 MB"
    assert fn["s3_bucket"] == "${aws_s3_object.package.bucket}"
    assert fn["s3_key"] == "${aws_s3_object.package.key}"
    assert fn["s3_object_version"] == "${aws_s3_object.package.version_id}"
    assert fn["source_code_hash"] == "${filebase64sha256(var.package_zip)}"
    package = AWS.resource("aws_s3_object", "package")
    assert package["bucket"] == "${aws_s3_bucket.store.id}"
    assert package["source"] == "${var.package_zip}" and package["source_hash"] == "${filemd5(var.package_zip)}"
    assert package["key"] == "${var.artifacts_prefix}/${basename(var.package_zip)}"
    assert AWS.default("artifacts_prefix") not in {
        AWS.default(f"{p}_prefix") for p in ("allocations", "billing", "results")
    }
    assert fn["architectures"] == ["${var.architecture}"]
    assert AWS.default("architecture") == "arm64"


def test_one_role_per_function() -> None:
    fn = AWS.resource("aws_lambda_function", "this")
    assert fn["role"] == "${aws_iam_role.function[each.key].arn}"
    assert set(AWS.resources("aws_iam_role")) == {"function", "scheduler", "spark_job"}  # spark_job: engine = "spark"
    role = AWS.resource("aws_iam_role", "function")
    assert role["for_each"] == "${local.functions}" and role["name"] == "${var.name}-${each.key}"
    policy = AWS.resource("aws_iam_role_policy", "function")
    assert policy["role"] == "${aws_iam_role.function[each.key].id}"
    assert policy["policy"] == "${local.function_policies[each.key]}"
    assert AWS.locals()["function_policies"] == {
        name: f"${{data.aws_iam_policy_document.{name}.json}}" for name in ("export", "merge", "metrics")
    }
    common = AWS.resource("aws_iam_policy_document", "common", "data")
    logs = next(s for s in common["statement"] if s["sid"] == "Logs")
    assert logs["resources"] == ["${aws_cloudwatch_log_group.functions[each.key].arn}:*"]  # its own log group


def test_s3_notifications_fire_merge_only_under_the_input_prefixes() -> None:
    notification = AWS.resource("aws_s3_bucket_notification", "merge")
    assert "lambda_function" not in notification, "a static notification would bypass the prefix filter"
    block = dynamic(notification, "lambda_function")
    assert block["for_each"] == "${local.input_prefixes}"
    content = one(block["content"])
    assert content["filter_prefix"] == "${lambda_function.value}"
    assert content["events"] == ["s3:ObjectCreated:*"]
    assert content["lambda_function_arn"] == '${aws_lambda_function.this["merge"].arn}'
    assert set(AWS.locals()["input_prefixes"]) == {"allocations", "billing"}
    permission = AWS.resource("aws_lambda_permission", "s3_merge")
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_arn"] == "${aws_s3_bucket.store.arn}"


def test_export_writes_allocations_only_and_only_when_it_pulls_from_a_cluster_api() -> None:
    assert actions_on("export", WRITE_ACTIONS) == {"${aws_s3_bucket.store.arn}/${statement.value}*": {"s3:PutObject"}}
    policy = AWS.resource("aws_iam_policy_document", "export", "data")
    for entry in policy["dynamic"]:
        assert entry["statement"]["for_each"] == "${var.source_url == null ? [] : [local.input_prefixes.allocations]}"


def test_merge_reads_the_inputs_and_results_and_writes_only_results() -> None:
    assert actions_on("merge", WRITE_ACTIONS) == {RESULTS_OBJECTS: {"s3:PutObject", "s3:DeleteObject"}}
    reads = actions_on("merge", re.compile(r"^s3:Get"))
    assert reads == {
        ALLOCATIONS_OBJECTS: {"s3:GetObject"},
        BILLING_OBJECTS: {"s3:GetObject"},
        RESULTS_OBJECTS: {"s3:GetObject"},
    }
    listing = one(next(s for s in statements("merge") if s["sid"] == "ListInputsAndResults")["condition"])
    assert listing["variable"] == "s3:prefix"
    assert listing["values"] == [
        "${local.input_prefixes.allocations}*",
        "${local.input_prefixes.billing}*",
        "${local.results_key_prefix}*",
    ]


def test_metrics_reads_results_and_allocations_and_writes_nothing() -> None:
    assert actions_on("metrics", WRITE_ACTIONS) == {}
    assert actions_on("metrics", re.compile(r"^s3:Get")) == {
        RESULTS_OBJECTS: {"s3:GetObject"},
        ALLOCATIONS_OBJECTS: {"s3:GetObject"},
    }
    listing = one(next(s for s in statements("metrics") if s["sid"] == "ListResultsAndAllocations")["condition"])
    assert listing["values"] == ["${local.results_key_prefix}*", "${local.input_prefixes.allocations}*"]
    assert not actions_on("metrics", re.compile(r"^sqs:"))  # synchronous: no on-failure destination to write


@pytest.mark.parametrize("function", ["export", "merge", "metrics"])
def test_no_policy_has_a_wildcard(function: str) -> None:
    for statement in statements(function):
        assert not any(a.endswith(":*") or a == "*" for a in statement["actions"]), statement["sid"]
        assert statement["resources"] != ["*"], statement["sid"]


def test_schedules_run_export_and_catch_up_at_kubebill_defaults() -> None:
    schedules = AWS.resources("aws_scheduler_schedule")
    assert set(schedules) == {"export", "catch_up", "spark"}  # spark: engine = "spark" (tests/infra/test_spark.py)
    schedules.pop("spark")
    defaults = default_schedules()
    targets = {
        "export": '${aws_lambda_function.this["export"].arn}',
        "catch_up": '${aws_lambda_function.this["merge"].arn}',
    }
    for name, schedule in schedules.items():
        expression = AWS.default(f"{name}_schedule")
        minute, hour = re.fullmatch(r"cron\((\S+) (\S+) \* \* \? \*\)", expression).groups()
        assert (minute, hour) == defaults[name], name
        assert schedule["schedule_expression"] == f"${{var.{name}_schedule}}"
        assert schedule["schedule_expression_timezone"] == "UTC"
        target = one(schedule["target"])
        assert target["arn"] == targets[name]
        assert one(target["dead_letter_config"])["arn"] == "${aws_sqs_queue.failures.arn}"
    assert '"catch-up"' in one(schedules["catch_up"]["target"])["input"]
    assert schedules["export"]["state"] == '${var.source_url == null ? "DISABLED" : "ENABLED"}'


def test_async_failures_go_to_the_encrypted_queue() -> None:
    config = AWS.resource("aws_lambda_function_event_invoke_config", "async")
    assert config["for_each"] == '${toset(["export", "merge"])}'
    failure = one(one(config["destination_config"])["on_failure"])
    assert failure["destination"] == "${aws_sqs_queue.failures.arn}"
    queue = AWS.resource("aws_sqs_queue", "failures")
    assert queue["sqs_managed_sse_enabled"] == "${var.kms_key_arn == null ? true : null}"
    assert queue["kms_master_key_id"] == "${var.kms_key_arn}"


def test_metrics_url_and_token_reach_only_the_metrics_function() -> None:
    url = AWS.resource("aws_lambda_function_url", "metrics")
    assert url["function_name"] == '${aws_lambda_function.this["metrics"].function_name}'
    # "token" (default): public URL, the handler checks the bearer token; "iam": SigV4 callers only, nothing public
    assert url["authorization_type"] == '${var.metrics_auth == "iam" ? "AWS_IAM" : "NONE"}'
    assert AWS.default("metrics_auth") == "token"
    permissions = AWS.resources("aws_lambda_permission")
    public = {p["action"] for p in permissions.values() if p["principal"] == "*"}
    assert all(
        p["count"] == '${var.metrics_auth == "iam" ? 0 : 1}' for p in permissions.values() if p["principal"] == "*"
    )
    assert public == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}  # both, since October 2025
    assert all(
        p["function_name"].startswith('${aws_lambda_function.this["metrics"]')
        for p in permissions.values()
        if p["principal"] == "*"
    )
    environment = one(AWS.resource("aws_lambda_function", "this")["environment"])["variables"]
    assert environment == (
        '${each.key == "metrics" && var.metrics_token != null ? '
        "merge(local.function_environment[each.key], {KUBEBILL_METRICS_TOKEN = var.metrics_token}) : "
        "local.function_environment[each.key]}"
    )
    per_function = AWS.locals()["function_environment"]
    assert "merge(local.environment, {KUBEBILL_MEMORY_LIMIT = " in per_function
    assert "floor(fn.memory * 0.7)" in per_function
    assert "KUBEBILL_METRICS_TOKEN" not in AWS.locals()["settings"]
    assert AWS.named("variable")["metrics_token"]["sensitive"] is True


def test_log_groups_belong_to_the_functions_and_expire() -> None:
    groups = AWS.resource("aws_cloudwatch_log_group", "functions")
    fn = AWS.resource("aws_lambda_function", "this")
    assert groups["name"] == "/aws/lambda/${var.name}-${each.key}"
    assert fn["function_name"] == "${var.name}-${each.key}"
    assert groups["retention_in_days"] == "${var.log_retention_days}"
    assert one(fn["logging_config"])["log_group"] == "${aws_cloudwatch_log_group.functions[each.key].name}"


def test_bucket_is_private_encrypted_versioned_and_expires_state_versions() -> None:
    block = AWS.resource("aws_s3_bucket_public_access_block", "store")
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert one(AWS.resource("aws_s3_bucket_versioning", "store")["versioning_configuration"])["status"] == "Enabled"
    assert (
        one(AWS.resource("aws_s3_bucket_ownership_controls", "store")["rule"])["object_ownership"]
        == "BucketOwnerEnforced"
    )
    sse = one(
        one(AWS.resource("aws_s3_bucket_server_side_encryption_configuration", "store")["rule"])[
            "apply_server_side_encryption_by_default"
        ]
    )
    assert sse["sse_algorithm"] == '${var.kms_key_arn == null ? "AES256" : "aws:kms"}'
    rules = {rule["id"]: rule for rule in AWS.resource("aws_s3_bucket_lifecycle_configuration", "store")["rule"]}
    assert one(rules["expire-state-versions"]["filter"])["prefix"] == "${local.results_key_prefix}_state/"
    assert rules["abort-incomplete-uploads"]["abort_incomplete_multipart_upload"]


def test_cur2_export_writes_parquet_under_the_billing_prefix() -> None:
    export = AWS.resource("aws_bcmdataexports_export", "cur2")
    assert export["provider"] == "${aws.billing}"
    body = one(export["export"])
    destination = one(one(body["destination_configurations"])["s3_destination"])
    assert destination["s3_prefix"] == "${var.billing_prefix}/aws"
    assert destination["s3_bucket"] == "${aws_s3_bucket.store.bucket}"
    output = one(destination["s3_output_configurations"])
    assert (output["format"], output["compression"], output["overwrite"]) == ("PARQUET", "PARQUET", "OVERWRITE_REPORT")
    query = one(body["data_query"])
    assert query["query_statement"] == "${local.cur2_query}"
    table = query["table_configurations"]["COST_AND_USAGE_REPORT"]
    assert table["TIME_GRANULARITY"] == "HOURLY"
    assert table["INCLUDE_RESOURCES"] == "TRUE"  # node lines are matched by instance id
    columns = AWS.locals()["cur2_columns"]
    for needed in (
        "line_item_resource_id",
        "line_item_usage_start_date",
        "line_item_unblended_cost",
        "identity_line_item_id",
    ):
        assert needed in columns


def test_bucket_policy_lets_only_the_billing_services_write_billing_objects() -> None:
    policy = AWS.resource("aws_iam_policy_document", "bucket", "data")
    by_sid = {s["sid"]: s for s in policy["statement"]}
    billing = by_sid["BillingExportsWrite"]
    assert "${aws_s3_bucket.store.arn}/${local.input_prefixes.billing}*" in billing["resources"]
    assert not any(r.endswith("/*") and "billing" not in r for r in billing["resources"])
    principals = one(billing["principals"])
    assert set(principals["identifiers"]) == {"bcm-data-exports.amazonaws.com", "billingreports.amazonaws.com"}
    assert {c["variable"] for c in billing["condition"]} == {"aws:SourceArn", "aws:SourceAccount"}
    deny = by_sid["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"


def test_example_root_passes_the_us_east_1_billing_provider() -> None:
    example = module("examples/aws")
    call = example.named("module")["kubebill"]
    assert call["providers"] == {"aws": "aws", "${aws.billing}": "${aws.billing}"}  # as python-hcl2 renders them
    billing = [p["aws"] for p in example.blocks["provider"] if p["aws"].get("alias") == "billing"]
    assert one(billing)["region"] == "us-east-1"
