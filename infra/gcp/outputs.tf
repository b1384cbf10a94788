output "bucket" {
  description = "Name of the kubebill bucket."
  value       = google_storage_bucket.store.name
}

output "store_url" {
  description = "KUBEBILL_STORE for the CLI and in-cluster exporters (gs://bucket)."
  value       = local.settings.KUBEBILL_STORE
}

output "function_names" {
  description = "Cloud Functions by role."
  value = {
    merge    = google_cloudfunctions2_function.on_object_finalized.name
    export   = google_cloudfunctions2_function.on_schedule["export"].name
    catch_up = google_cloudfunctions2_function.on_schedule["catch_up"].name
    metrics  = google_cloudfunctions2_function.metrics.name
  }
}

output "service_accounts" {
  description = "Service account of each job (export, merge, metrics): roles on the bucket (and the token secret) only."
  value       = { for key, account in google_service_account.function : key => account.email }
}

output "metrics_url" {
  description = "Prometheus scrape URL of the metrics function (send `Authorization: Bearer <metrics_token>`)."
  value       = google_cloudfunctions2_function.metrics.service_config[0].uri
}

output "schedule_topics" {
  description = "Pub/Sub topic of each scheduled job (publish {\"job\": \"catch-up\"} to the catch_up one to run it now)."
  value       = { for key, topic in google_pubsub_topic.schedule : key => topic.id }
}

output "billing_extract_prefix" {
  description = "Where the scheduled query writes the billing export extracts (null until billing_export_table is set)."
  value       = local.billing_extract == null ? null : "${local.billing_extract_uri}/"
}

output "billing_extract_transfer" {
  description = "Resource name of the BigQuery scheduled query, or null."
  value       = one(google_bigquery_data_transfer_config.billing_extract[*].name)
}

output "results_table" {
  description = "BigQuery external table over the results (project.dataset.table)."
  value       = "${var.project_id}.${google_bigquery_dataset.results.dataset_id}.${google_bigquery_table.results.table_id}"
}

output "spark_service_account" {
  description = "engine = \"spark\": the service account the Spark merge batch runs as (null otherwise)."
  value       = one(google_service_account.spark[*].email)
}
