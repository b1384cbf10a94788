# ONE role for the three functions: read the input prefixes and the results, write only under the results prefix.
data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "functions" {
  name               = "${var.name}-functions"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "functions" {
  statement {
    sid       = "ListKubebillPrefixes"
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

  # Only when the export function pulls from a cluster API (source_url set); else allocations come from the cluster.
  dynamic "statement" {
    for_each = var.source_url == null ? [] : [local.input_prefixes.allocations]
    content {
      sid       = "ExportWritesAllocations"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.store.arn}/${statement.value}*"]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for group in aws_cloudwatch_log_group.functions : "${group.arn}:*"]
  }

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
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

resource "aws_iam_role_policy" "functions" {
  name   = "${var.name}-functions"
  role   = aws_iam_role.functions.id
  policy = data.aws_iam_policy_document.functions.json
}

# EventBridge Scheduler's own role: invoke the export and merge functions, nothing else.
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
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
