# engine = "spark": an EMR Serverless Spark application runs `kubebill merge --engine spark` on spark_schedule
# over the days the merge function recorded (results/_state/queue.json); the function itself no longer merges.
locals {
  spark          = var.engine == "spark"
  spark_deps     = "kubebill-spark-deps-${var.architecture}.tar.gz"
  spark_log_name = "/aws/emr-serverless/${var.name}"
  spark_artifacts = local.spark ? {
    entry = "kubebill_spark_job.py"
    deps  = local.spark_deps
  } : {}
  # the job's settings: the functions' own, plus where its dependency archive is unpacked
  spark_conf = join(" ", concat(
    [
      "--conf spark.archives=s3://${local.bucket}/${var.artifacts_prefix}/spark/${local.spark_deps}#deps",
      "--conf spark.emr-serverless.driverEnv.PYTHONPATH=./deps",
      "--conf spark.executorEnv.PYTHONPATH=./deps",
      "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=${var.spark_python}",
      "--conf spark.executorEnv.PYSPARK_PYTHON=${var.spark_python}",
    ],
    [for key, value in merge(local.environment, { KUBEBILL_ENGINE = "spark" }) : "--conf spark.emr-serverless.driverEnv.${key}=${value}"],
  ))
}

resource "aws_s3_object" "spark" {
  for_each    = local.spark_artifacts
  bucket      = aws_s3_bucket.store.id
  key         = "${var.artifacts_prefix}/spark/${each.value}"
  source      = "${var.spark_package_dir}/${each.value}"
  source_hash = filemd5("${var.spark_package_dir}/${each.value}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.store, aws_s3_bucket_versioning.store]
}

resource "aws_emrserverless_application" "spark" {
  count         = local.spark ? 1 : 0
  name          = "${var.name}-merge"
  release_label = var.spark_release_label
  type          = "spark"
  architecture  = upper(var.architecture)
  tags          = var.tags

  maximum_capacity {
    cpu    = "${var.spark_max_vcpu} vCPU"
    memory = "${var.spark_max_vcpu * 4} GB"
  }

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = 15
  }

  dynamic "image_configuration" {
    for_each = var.spark_image_uri == null ? [] : [var.spark_image_uri]
    content {
      image_uri = image_configuration.value
    }
  }
}

resource "aws_cloudwatch_log_group" "spark" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest with its own keys; set kms_key_arn for a customer managed key
  count             = local.spark ? 1 : 0
  name              = local.spark_log_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# The job's role: the merge function's data rights (merge_data in iam.tf: read the inputs and results/, write
# results/), plus its own two artifacts and log group.
data "aws_iam_policy_document" "assume_emr_serverless" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "spark_job" {
  count              = local.spark ? 1 : 0
  name               = "${var.name}-spark-job"
  assume_role_policy = data.aws_iam_policy_document.assume_emr_serverless.json
  tags               = var.tags
}

data "aws_iam_policy_document" "spark_job" {
  count                   = local.spark ? 1 : 0
  source_policy_documents = [data.aws_iam_policy_document.merge_data.json]

  statement {
    sid       = "ReadTheJob"
    actions   = ["s3:GetObject"]
    resources = [for key, object in aws_s3_object.spark : "${aws_s3_bucket.store.arn}/${object.key}"]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.spark[0].arn}:*"]
  }

  statement {
    sid       = "FindLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "spark_job" {
  count  = local.spark ? 1 : 0
  name   = "${var.name}-spark-job"
  role   = aws_iam_role.spark_job[0].id
  policy = data.aws_iam_policy_document.spark_job[0].json
}

# EventBridge Scheduler starts one job run per schedule through its universal target (StartJobRun); the
# execution id is the run's idempotency token, so a retried start never starts a second run.
resource "aws_scheduler_schedule" "spark" {
  #checkov:skip=CKV_AWS_297:The schedule holds only the job's fixed StartJobRun request, no data; AWS owned key by default, kms_key_arn switches to a customer managed key
  count                        = local.spark ? 1 : 0
  name                         = "${var.name}-spark-merge"
  group_name                   = aws_scheduler_schedule_group.kubebill.name
  description                  = "Spark merge of the recorded and changed days (kubebill merge --engine spark)"
  schedule_expression          = var.spark_schedule
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:emrserverless:startJobRun"
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      ApplicationId    = aws_emrserverless_application.spark[0].id
      ExecutionRoleArn = aws_iam_role.spark_job[0].arn
      ClientToken      = "<aws.scheduler.execution-id>"
      Name             = "${var.name}-merge"
      JobDriver = {
        SparkSubmit = {
          EntryPoint            = "s3://${local.bucket}/${aws_s3_object.spark["entry"].key}"
          EntryPointArguments   = ["--store", local.settings.KUBEBILL_STORE]
          SparkSubmitParameters = local.spark_conf
        }
      }
      ConfigurationOverrides = {
        MonitoringConfiguration = {
          CloudWatchLoggingConfiguration = {
            Enabled      = true
            LogGroupName = aws_cloudwatch_log_group.spark[0].name
          }
        }
      }
    })

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}
