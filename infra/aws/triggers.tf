# What starts each function: S3 notifications on the input prefixes (merge), schedules (export, catch-up).
resource "aws_lambda_permission" "s3_merge" {
  statement_id   = "S3ObjectCreated"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["merge"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.store.arn
  source_account = local.account_id
}

# Only keys under the input prefixes fire the merge: results/ never triggers (DESIGN 3.3).
resource "aws_s3_bucket_notification" "merge" {
  bucket = aws_s3_bucket.store.id

  dynamic "lambda_function" {
    for_each = local.input_prefixes
    content {
      id                  = "kubebill-${lambda_function.key}"
      lambda_function_arn = aws_lambda_function.this["merge"].arn
      events              = ["s3:ObjectCreated:*"]
      filter_prefix       = lambda_function.value
    }
  }

  depends_on = [aws_lambda_permission.s3_merge]
}

resource "aws_scheduler_schedule_group" "kubebill" {
  name = var.name
  tags = var.tags
}

resource "aws_scheduler_schedule" "export" {
  #checkov:skip=CKV_AWS_297:The schedule holds only a fixed JSON input with no data; AWS owned key by default, kms_key_arn switches to a customer managed key
  name                         = "${var.name}-export"
  group_name                   = aws_scheduler_schedule_group.kubebill.name
  description                  = "Daily export of yesterday's allocations (kubebill export)"
  schedule_expression          = var.export_schedule
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = var.kms_key_arn
  state                        = var.source_url == null ? "DISABLED" : "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["export"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ kubebill = "export" })

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_scheduler_schedule" "catch_up" {
  #checkov:skip=CKV_AWS_297:The schedule holds only a fixed JSON input with no data; AWS owned key by default, kms_key_arn switches to a customer managed key
  name                         = "${var.name}-catch-up"
  group_name                   = aws_scheduler_schedule_group.kubebill.name
  description                  = "Daily catch-up merge of the last restate_days days (restated bills)"
  schedule_expression          = var.catch_up_schedule
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["merge"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ kubebill = "catch-up" })

    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}
