# ONE role per function, each with only what its pipeline call touches (DESIGN 3.3):
#   export  writes allocations/ (only when it pulls from a cluster API: source_url set)
#   merge   reads allocations/, billing/ and results/, writes results/
#   metrics reads results/ and allocations/, writes nothing
data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

# What every function needs: its own log group, the bucket key if there is one.
data "aws_iam_policy_document" "common" {
  for_each = local.functions

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions[each.key].arn}:*"]
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

data "aws_iam_policy_document" "export" {
  source_policy_documents = [data.aws_iam_policy_document.common["export"].json]

  dynamic "statement" {
    for_each = var.source_url == null ? [] : [local.input_prefixes.allocations]
    content {
      sid       = "ListAllocations"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.store.arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${statement.value}*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.source_url == null ? [] : [local.input_prefixes.allocations]
    content {
      sid       = "WriteAllocations"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${aws_s3_bucket.store.arn}/${statement.value}*"]
    }
  }

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
}

# The merge's data rights, shared with the Spark merge's job role (spark.tf): both read the inputs and results/
# and write results/ only.
data "aws_iam_policy_document" "merge_data" {
  statement {
    sid       = "ListInputsAndResults"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.store.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "${local.input_prefixes.allocations}*",
        "${local.input_prefixes.billing}*",
        "${local.results_key_prefix}*",
      ]
    }
  }

  statement {
    sid     = "ReadInputsAndResults"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.store.arn}/${local.input_prefixes.allocations}*",
      "${aws_s3_bucket.store.arn}/${local.input_prefixes.billing}*",
      "${aws_s3_bucket.store.arn}/${local.results_key_prefix}*",
    ]
  }

  # The merge writes results/ and deletes only its own state objects there.
  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.store.arn}/${local.results_key_prefix}*"]
  }
}

data "aws_iam_policy_document" "merge" {
  source_policy_documents = [data.aws_iam_policy_document.common["merge"].json, data.aws_iam_policy_document.merge_data.json]

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
}

data "aws_iam_policy_document" "metrics" {
  source_policy_documents = [data.aws_iam_policy_document.common["metrics"].json]

  statement {
    sid       = "ListResultsAndAllocations"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.store.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.results_key_prefix}*", "${local.input_prefixes.allocations}*"]
    }
  }

  statement {
    sid     = "ReadResultsAndAllocations"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.store.arn}/${local.results_key_prefix}*",
      "${aws_s3_bucket.store.arn}/${local.input_prefixes.allocations}*",
    ]
  }
}

locals {
  function_policies = {
    export  = data.aws_iam_policy_document.export.json
    merge   = data.aws_iam_policy_document.merge.json
    metrics = data.aws_iam_policy_document.metrics.json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "${var.name}-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = local.function_policies[each.key]
}

# EventBridge Scheduler's own role: invoke the export and merge functions (and start the Spark merge), nothing else.
data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["export"].arn, aws_lambda_function.this["merge"].arn]
  }
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  # engine = "spark": start the merge job on its application, handing it the job role and nothing else
  dynamic "statement" {
    for_each = aws_emrserverless_application.spark
    content {
      sid       = "StartSparkMerge"
      actions   = ["emr-serverless:StartJobRun"]
      resources = [statement.value.arn]
    }
  }

  dynamic "statement" {
    for_each = aws_iam_role.spark_job
    content {
      sid       = "PassTheJobRole"
      actions   = ["iam:PassRole"]
      resources = [statement.value.arn]
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["emr-serverless.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
