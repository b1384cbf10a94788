# Cloud Scheduler -> Pub/Sub -> on_schedule: the message says which job runs.
resource "google_pubsub_topic" "schedule" {
  #checkov:skip=CKV_GCP_83:Messages carry only {"job": ...}; Google-managed encryption is enough
  project                    = var.project_id
  name                       = "${var.name}-schedule"
  labels                     = var.labels
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "export" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name}-export"
  description = "Daily export of yesterday's allocations"
  schedule    = var.export_schedule
  time_zone   = "Etc/UTC"
  paused      = var.source_url == null

  pubsub_target {
    topic_name = google_pubsub_topic.schedule.id
    data       = base64encode(jsonencode({ job = "export" }))
  }
}

resource "google_cloud_scheduler_job" "catch_up" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name}-catch-up"
  description = "Daily catch-up merge of the last restate_days days (restated bills)"
  schedule    = var.catch_up_schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.schedule.id
    data       = base64encode(jsonencode({ job = "catch-up" }))
  }
}
