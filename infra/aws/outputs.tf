output "bucket" {
  description = "Name of the kubebill bucket."
  value       = aws_s3_bucket.store.bucket
}

output "store_url" {
  description = "KUBEBILL_STORE for the CLI and in-cluster exporters (s3://bucket)."
  value       = local.settings.KUBEBILL_STORE
}

output "function_names" {
  description = "Lambda function names by role (export, merge, metrics)."
  value       = { for key, fn in aws_lambda_function.this : key => fn.function_name }
}

output "role_arns" {
  description = "The IAM role each function runs as, by function (export, merge, metrics)."
  value       = { for key, role in aws_iam_role.function : key => role.arn }
}

output "metrics_url" {
  description = "Prometheus scrape URL of the metrics function (send `Authorization: Bearer <metrics_token>`)."
  value       = aws_lambda_function_url.metrics.function_url
}

output "failure_queue_url" {
  description = "SQS queue holding events whose export/merge failed after retries (replay with `kubebill handle KEY`)."
  value       = aws_sqs_queue.failures.url
}

output "billing_export_arn" {
  description = "ARN of the CUR 2.0 export, or null when enable_billing_export is false."
  value       = one(aws_bcmdataexports_export.cur2[*].export[0].export_arn)
}

output "billing_export_prefix" {
  description = "Where the CUR 2.0 files land: s3://bucket/<billing_prefix>/aws/<export name>/."
  value       = "s3://${aws_s3_bucket.store.bucket}/${local.input_prefixes.billing}aws/${var.billing_export_name}/"
}

output "athena_workgroup" {
  description = "Athena workgroup to query the results in."
  value       = aws_athena_workgroup.kubebill.name
}

output "athena_table" {
  description = "Glue database.table over results/parquet (partition projection: no crawler needed)."
  value       = "${aws_glue_catalog_database.kubebill.name}.${aws_glue_catalog_table.results.name}"
}

output "spark_application_id" {
  description = "engine = \"spark\": the EMR Serverless application the Spark merge runs on (null otherwise)."
  value       = one(aws_emrserverless_application.spark[*].id)
}

output "spark_job_role_arn" {
  description = "engine = \"spark\": the role the Spark merge runs as (null otherwise)."
  value       = one(aws_iam_role.spark_job[*].arn)
}
