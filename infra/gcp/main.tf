# kubebill on Google Cloud: one GCS bucket, three Cloud Functions (gen2) on one service account that holds
# only bucket-scoped roles, the Eventarc and Scheduler triggers, a BigQuery extract of the billing export
# into the bucket, and a BigQuery external table over the results.
locals {
  bucket = coalesce(var.bucket_name, "${var.project_id}-${var.name}")

  # Object prefixes exactly as kubebill.layout builds them (DESIGN 3.3): "<prefix>/".
  allocations_key_prefix = "${var.allocations_prefix}/"
  billing_key_prefix     = "${var.billing_prefix}/"
  results_key_prefix     = "${var.results_prefix}/"

  # Every variable is a kubebill.settings name (checked by tests/infra); null values are left unset.
  settings = {
    KUBEBILL_STORE              = "gs://${local.bucket}"
    KUBEBILL_ALLOCATIONS_PREFIX = var.allocations_prefix
    KUBEBILL_BILLING_PREFIX     = var.billing_prefix
    KUBEBILL_RESULTS_PREFIX     = var.results_prefix
    KUBEBILL_LOG_FORMAT         = "json"
    KUBEBILL_SOURCE             = var.source_kind
    KUBEBILL_SOURCE_URL         = var.source_url
    KUBEBILL_CLUSTER            = var.cluster
    KUBEBILL_RESTATE_DAYS       = tostring(var.restate_days)
    KUBEBILL_MEMORY_LIMIT       = "${floor(tonumber(trimsuffix(var.memory, "Gi")) * 1024 * 0.7)}MB"
    KUBEBILL_TENANT_ID          = var.tenant_id
    KUBEBILL_ENGINE             = var.engine == "spark" ? "spark" : null
  }
  environment = { for key, value in local.settings : key => value if value != null && value != "" }

  services = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerydatatransfer.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "dataproc.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
