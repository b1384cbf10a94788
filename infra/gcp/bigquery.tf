# BigQuery: a scheduled query that extracts each day of the Cloud Billing export as Parquet into
# gs://bucket/<billing_prefix>/gcp/, and an external table over the results.
locals {
  billing_table = var.billing_export_table == null ? [] : split(".", var.billing_export_table)
  billing_extract = var.billing_export_table == null ? null : {
    project = local.billing_table[0]
    dataset = local.billing_table[1]
    table   = local.billing_table[2]
  }
  # Objects land at billing/gcp/<export table>/usage_date=YYYY-MM-DD/part-*.parquet; the last restate_days
  # days are rewritten every run because Cloud Billing keeps adding and restating lines for days.
  billing_extract_uri = "gs://${local.bucket}/${local.billing_key_prefix}gcp/${try(local.billing_extract.table, "none")}"
  billing_extract_query = var.billing_export_table == null ? null : templatefile("${path.module}/billing_extract.sql.tftpl", {
    restate_days = var.restate_days
    uri          = local.billing_extract_uri
    table        = var.billing_export_table
  })

  # The RESULT schema of kubebill.schema, in order (tests/infra checks it against the code).
  result_columns = [
    { name = "ChargePeriodStart", type = "TIMESTAMP" },
    { name = "ChargePeriodEnd", type = "TIMESTAMP" },
    { name = "BillingPeriodStart", type = "TIMESTAMP" },
    { name = "BillingAccountId", type = "STRING" },
    { name = "SubAccountId", type = "STRING" },
    { name = "ProviderName", type = "STRING" },
    { name = "ServiceName", type = "STRING" },
    { name = "ServiceCategory", type = "STRING" },
    { name = "ResourceId", type = "STRING" },
    { name = "ResourceName", type = "STRING" },
    { name = "ResourceType", type = "STRING" },
    { name = "RegionId", type = "STRING" },
    { name = "SkuId", type = "STRING" },
    { name = "ChargeCategory", type = "STRING" },
    { name = "ChargeDescription", type = "STRING" },
    { name = "PricingCategory", type = "STRING" },
    { name = "CommitmentDiscountId", type = "STRING" },
    { name = "CommitmentDiscountType", type = "STRING" },
    { name = "BillingCurrency", type = "STRING" },
    { name = "BilledCost", type = "FLOAT" },
    { name = "EffectiveCost", type = "FLOAT" },
    { name = "ListCost", type = "FLOAT" },
    { name = "ContractedCost", type = "FLOAT" },
    { name = "ConsumedQuantity", type = "FLOAT" },
    { name = "ConsumedUnit", type = "STRING" },
    { name = "Tags", type = "STRING" },
    { name = "AllocatedMethodId", type = "STRING" },
    { name = "AllocatedMethodDetails", type = "STRING" },
    { name = "AllocatedResourceId", type = "STRING" },
    { name = "AllocatedResourceName", type = "STRING" },
    { name = "AllocatedTags", type = "STRING" },
    { name = "x_K8sCluster", type = "STRING" },
    { name = "x_K8sNode", type = "STRING" },
    { name = "x_K8sNamespace", type = "STRING" },
    { name = "x_K8sControllerKind", type = "STRING" },
    { name = "x_K8sController", type = "STRING" },
    { name = "x_K8sPod", type = "STRING" },
    { name = "x_K8sContainer", type = "STRING" },
    { name = "x_K8sLabels", type = "STRING" },
    { name = "x_K8sAllocation", type = "STRING" },
    { name = "x_K8sCostComponent", type = "STRING" },
    { name = "x_K8sCpuRatio", type = "FLOAT" },
    { name = "x_K8sRamRatio", type = "FLOAT" },
    { name = "x_K8sGpuRatio", type = "FLOAT" },
    { name = "x_SourceKey", type = "STRING" },
    { name = "x_SourceRowId", type = "INTEGER" },
  ]
}

data "google_project" "this" {
  project_id = var.project_id
}

# The scheduled query runs as its own service account: read the billing dataset, write billing/gcp/ only.
resource "google_service_account" "billing_extract" {
  count        = local.billing_extract == null ? 0 : 1
  project      = var.project_id
  account_id   = "${var.name}-billing"
  display_name = "kubebill billing extract (scheduled query)"
}

resource "google_project_iam_member" "billing_extract_jobs" {
  count   = local.billing_extract == null ? 0 : 1
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.billing_extract[0].email}"
}

resource "google_bigquery_dataset_iam_member" "billing_extract_reads" {
  count      = local.billing_extract == null ? 0 : 1
  project    = local.billing_extract.project
  dataset_id = local.billing_extract.dataset
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.billing_extract[0].email}"
}

resource "google_storage_bucket_iam_member" "billing_extract_lists" {
  count  = local.billing_extract == null ? 0 : 1
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.billing_extract[0].email}"
}

resource "google_storage_bucket_iam_member" "billing_extract_writes" {
  count  = local.billing_extract == null ? 0 : 1
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.billing_extract[0].email}"

  condition {
    title       = "kubebill-billing-gcp-only"
    description = "The billing extract writes only under the billing prefix"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.bucket}/objects/${local.billing_key_prefix}gcp/\")"
  }
}

# The Data Transfer service agent mints tokens for the extract's service account.
resource "google_service_account_iam_member" "billing_extract_agent" {
  count              = local.billing_extract == null ? 0 : 1
  service_account_id = google_service_account.billing_extract[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-bigquerydatatransfer.iam.gserviceaccount.com"
}

resource "google_bigquery_data_transfer_config" "billing_extract" {
  count                = local.billing_extract == null ? 0 : 1
  project              = var.project_id
  display_name         = "${var.name}-billing-extract"
  location             = var.billing_export_location
  data_source_id       = "scheduled_query"
  schedule             = var.billing_export_schedule
  service_account_name = google_service_account.billing_extract[0].email

  params = {
    query = local.billing_extract_query
  }

  depends_on = [
    google_project_iam_member.billing_extract_jobs,
    google_bigquery_dataset_iam_member.billing_extract_reads,
    google_storage_bucket_iam_member.billing_extract_writes,
    google_storage_bucket_iam_member.billing_extract_lists,
    google_service_account_iam_member.billing_extract_agent,
  ]
}

resource "google_bigquery_dataset" "results" {
  #checkov:skip=CKV_GCP_81:Holds only an external table definition; the data stays in the bucket under its own encryption
  project     = var.project_id
  dataset_id  = var.results_dataset
  location    = var.region
  description = "kubebill results (FOCUS-shaped, split to Kubernetes workloads)"
  labels      = var.labels
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_table" "results" {
  #checkov:skip=CKV_GCP_121:External table definition only; destroying it loses no data (the Parquet files stay in the bucket)
  #checkov:skip=CKV_GCP_80:External table: the Parquet files in the bucket are the data, BigQuery stores none
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.results.dataset_id
  table_id            = "results"
  description         = "One Parquet file per UTC day under gs://${local.bucket}/${local.results_key_prefix}parquet/year=/month=/day="
  deletion_protection = false
  labels              = var.labels
  schema              = jsonencode([for column in local.result_columns : { name = column.name, type = column.type, mode = "NULLABLE" }])

  external_data_configuration {
    source_format = "PARQUET"
    autodetect    = false
    source_uris   = ["gs://${local.bucket}/${local.results_key_prefix}parquet/*"]

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "gs://${local.bucket}/${local.results_key_prefix}parquet/{year:STRING}/{month:STRING}/{day:STRING}"
      require_partition_filter = false
    }
  }
}
