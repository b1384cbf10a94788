# Three functions from the one `kubebill package --cloud aws` zip, each on its own role (iam.tf).
# Lambda takes a zip over 50 MB only from S3 (kubebill's are 60-70 MB): it is uploaded to the store bucket
# under artifacts/, which no trigger watches and no function role can read.
resource "aws_s3_object" "package" {
  bucket      = aws_s3_bucket.store.id
  key         = "${var.artifacts_prefix}/${basename(var.package_zip)}"
  source      = var.package_zip
  source_hash = filemd5(var.package_zip)
  kms_key_id  = var.kms_key_arn
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = !contains([var.allocations_prefix, var.billing_prefix, var.results_prefix], var.artifacts_prefix)
      error_message = "artifacts_prefix must differ from allocations_prefix, billing_prefix and results_prefix."
    }
  }

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.store, aws_s3_bucket_versioning.store]
}

resource "aws_cloudwatch_log_group" "functions" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest with its own keys; set kms_key_arn for a customer managed key
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions only call AWS APIs and the cluster's public allocation endpoint; a VPC adds NAT cost and nothing to protect
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the user owns; the zip is built reproducibly by `kubebill package`
  #checkov:skip=CKV_AWS_173:Environment variables hold no secrets except the optional metrics token; Lambda encrypts them at rest with an AWS managed key
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not needed; every invocation logs one JSON line with its duration
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to the SQS on-failure destination (aws_lambda_function_event_invoke_config.async), which keeps the event and the error
  #checkov:skip=CKV_AWS_115:Reserving concurrency is opt-in (merge_concurrency): accounts with the default quota of 10 cannot reserve any
  for_each                       = local.functions
  function_name                  = "${var.name}-${each.key}"
  role                           = aws_iam_role.function[each.key].arn
  s3_bucket                      = aws_s3_object.package.bucket
  s3_key                         = aws_s3_object.package.key
  s3_object_version              = aws_s3_object.package.version_id
  source_code_hash               = filebase64sha256(var.package_zip)
  handler                        = each.value.handler
  runtime                        = var.python_runtime
  architectures                  = [var.architecture]
  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.key == "merge" ? var.merge_concurrency : null
  tags                           = var.tags

  ephemeral_storage {
    size = each.key == "metrics" ? 512 : var.tmp_mb
  }

  environment {
    variables = each.key == "metrics" && var.metrics_token != null ? merge(local.function_environment[each.key], { KUBEBILL_METRICS_TOKEN = var.metrics_token }) : local.function_environment[each.key]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.functions[each.key].name
  }

  depends_on = [aws_iam_role_policy.function]
}

resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

# Export and merge run asynchronously (Scheduler, S3): two retries, then the event lands in the queue.
resource "aws_lambda_function_event_invoke_config" "async" {
  for_each                     = toset(["export", "merge"])
  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}

# Metrics over HTTPS. metrics_auth = "token" (default): the Function URL is public and the handler demands
# `Authorization: Bearer <token>` (Prometheus cannot sign SigV4 scrapes). "iam": the URL takes only SigV4-signed
# requests of principals granted lambda:InvokeFunctionUrl (a SigV4-signing proxy in front of Prometheus,
# Amazon Managed Prometheus' collector), and nothing is public; the token is still checked.
resource "aws_lambda_function_url" "metrics" {
  #checkov:skip=CKV_AWS_258:Auth is the bearer token (KUBEBILL_METRICS_TOKEN) checked in constant time by the handler, or AWS_IAM with metrics_auth = "iam"
  function_name      = aws_lambda_function.this["metrics"].function_name
  authorization_type = var.metrics_auth == "iam" ? "AWS_IAM" : "NONE"
}

resource "aws_lambda_permission" "metrics_url" {
  #checkov:skip=CKV_AWS_301:Only the metrics function URL is public, by design: the handler answers 401 without the bearer token
  count                  = var.metrics_auth == "iam" ? 0 : 1
  statement_id           = "FunctionUrlWithBearerToken"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this["metrics"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# Since October 2025 a function URL also needs lambda:InvokeFunction. Provider 5.x cannot add the
# `lambda:InvokedViaFunctionUrl` condition (6.x: invoked_via_function_url), so direct invokes are allowed too;
# the handler demands the bearer token whichever way the event arrives.
resource "aws_lambda_permission" "metrics_invoke" {
  #checkov:skip=CKV_AWS_301:Needed by the public metrics function URL since October 2025; the handler answers 401 without the bearer token
  count         = var.metrics_auth == "iam" ? 0 : 1
  statement_id  = "FunctionUrlInvokeFunction"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["metrics"].function_name
  principal     = "*"
}
