# One service account per function, each holding only roles on the bucket (DESIGN 3.3):
#   export  creates allocation objects (only when it pulls from a cluster API: source_url set)
#   merge   reads the bucket, writes and deletes only under the results prefix
#   metrics reads only under the results and allocations prefixes (and the token secret)
# `trigger` lets Eventarc and Pub/Sub invoke them. Prefix limits are IAM conditions on the object name
# (uniform bucket-level access makes conditions possible).
resource "google_service_account" "function" {
  for_each     = toset(["export", "merge", "metrics"])
  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "kubebill ${each.key} function (bucket-scoped roles only)"
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name}-trigger"
  display_name = "kubebill Eventarc/Pub/Sub invoker"
}

# Cloud Build builds the function images as its own account (new projects' default compute account has no
# build rights); it reads the source bucket and writes images and logs.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name}-build"
  display_name = "kubebill function builds"
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

locals {
  # listing is checked on the bucket, reading on each object: the bucket term lets a prefix-limited reader list
  object_names = "projects/_/buckets/${local.bucket}/objects/"
}

resource "google_storage_bucket_iam_member" "merge_read" {
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.function["merge"].email}"
}

resource "google_storage_bucket_iam_member" "merge_write_results" {
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.function["merge"].email}"

  condition {
    title       = "kubebill-results-only"
    description = "Create, overwrite and delete only under the results prefix"
    expression  = "resource.name.startsWith(\"${local.object_names}${local.results_key_prefix}\")"
  }
}

resource "google_storage_bucket_iam_member" "metrics_read" {
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.function["metrics"].email}"

  condition {
    title       = "kubebill-results-and-allocations"
    description = "List the bucket; read objects only under the results and allocations prefixes"
    expression  = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"${local.object_names}${local.results_key_prefix}\") || resource.name.startsWith(\"${local.object_names}${local.allocations_key_prefix}\")"
  }
}

# Only when the export function pulls from a cluster API (source_url set).
resource "google_storage_bucket_iam_member" "export_write_allocations" {
  count  = var.source_url == null ? 0 : 1
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.function["export"].email}"

  condition {
    title       = "kubebill-export-allocations-only"
    description = "The export function writes allocation files only under the allocations prefix"
    expression  = "resource.name.startsWith(\"${local.object_names}${local.allocations_key_prefix}\")"
  }
}

resource "google_secret_manager_secret_iam_member" "metrics_token" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.metrics_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function["metrics"].email}"
}

resource "google_project_iam_member" "trigger_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes" {
  for_each = {
    merge    = google_cloudfunctions2_function.on_object_finalized.name
    export   = google_cloudfunctions2_function.on_schedule["export"].name
    catch_up = google_cloudfunctions2_function.on_schedule["catch_up"].name
  }
  project  = var.project_id
  location = var.region
  name     = each.value
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Storage publishes object events through Pub/Sub: its service agent needs to publish.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_project_iam_member" "gcs_publishes" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# The metrics token lives in Secret Manager; the value is written through a write-only argument.
resource "google_secret_manager_secret" "metrics_token" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption for one bearer token; a CMEK adds a key ring to manage for no gain here
  project   = var.project_id
  secret_id = "${var.name}-metrics-token"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "metrics_token" {
  secret                 = google_secret_manager_secret.metrics_token.id
  secret_data_wo         = var.metrics_token
  secret_data_wo_version = var.metrics_token_version
}
