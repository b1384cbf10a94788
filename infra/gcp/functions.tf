# Four functions from the one `kubebill package --cloud gcp` folder, each on its job's service account (iam.tf):
# merge on object events, export and catch-up on their schedules (entry point on_schedule), metrics over HTTP.
resource "google_cloudfunctions2_function" "on_object_finalized" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-merge"
  description = "Merge the days an object created under the input prefixes covers"
  labels      = var.labels

  build_config {
    runtime         = var.python_runtime
    service_account = google_service_account.build.id
    entry_point     = "on_object_finalized"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    available_cpu                    = "1"
    timeout_seconds                  = 540
    max_instance_count               = var.max_merges
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["merge"].email
    environment_variables            = local.environment
  }

  # Eventarc's Cloud Storage trigger filters by bucket only (no prefix filter): the handler routes the key
  # through kubebill.layout and ignores anything outside the allocations and billing prefixes, results included.
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.store.name
    }
  }

  depends_on = [google_project_iam_member.gcs_publishes, google_project_iam_member.trigger_receiver, google_project_iam_member.build, google_storage_bucket_iam_member.build_reads_sources]
}

# The export and the catch-up merge: one deployment each, so each runs as its own account.
resource "google_cloudfunctions2_function" "on_schedule" {
  for_each    = local.scheduled
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-${each.value.name}"
  description = "The daily ${each.value.name} from its Pub/Sub topic ({\"job\": \"${each.value.name}\"})"
  labels      = var.labels

  build_config {
    runtime         = var.python_runtime
    service_account = google_service_account.build.id
    entry_point     = "on_schedule"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    available_cpu                    = "1"
    timeout_seconds                  = 540
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.value.account].email
    environment_variables            = local.environment
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.schedule[each.key].id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [google_project_iam_member.trigger_receiver, google_project_iam_member.build, google_storage_bucket_iam_member.build_reads_sources]
}

resource "google_cloudfunctions2_function" "metrics" {
  #checkov:skip=CKV_GCP_124:Prometheus scrapes from outside the project; the handler demands the bearer token (Secret Manager)
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-metrics"
  description = "Prometheus exposition of the latest results (Authorization: Bearer <token>)"
  labels      = var.labels

  build_config {
    runtime         = var.python_runtime
    service_account = google_service_account.build.id
    entry_point     = "metrics"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = "1Gi"
    available_cpu                  = "1"
    timeout_seconds                = 60
    max_instance_count             = 2
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function["metrics"].email
    environment_variables          = merge(local.environment, { KUBEBILL_MEMORY_LIMIT = "716MB" })

    secret_environment_variables {
      key        = "KUBEBILL_METRICS_TOKEN"
      project_id = var.project_id
      secret     = google_secret_manager_secret.metrics_token.secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_version.metrics_token, google_secret_manager_secret_iam_member.metrics_token, google_project_iam_member.build, google_storage_bucket_iam_member.build_reads_sources]
}

# metrics_auth = "token" (default): Prometheus cannot mint Google ID tokens, so the service is public and the
# handler demands the bearer token. "iam": nothing public; grant roles/run.invoker to the scraper's identity.
resource "google_cloud_run_v2_service_iam_member" "metrics_public" {
  count    = var.metrics_auth == "iam" ? 0 : 1
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.metrics.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
