# Cloud Scheduler -> one Pub/Sub topic per job -> that job's on_schedule deployment.
locals {
  scheduled = {
    export   = { name = "export", account = "export" }
    catch_up = { name = "catch-up", account = "merge" }
  }
}

resource "google_pubsub_topic" "schedule" {
  #checkov:skip=CKV_GCP_83:Messages carry only {"job": ...}; Google-managed encryption is enough
  for_each                   = local.scheduled
  project                    = var.project_id
  name                       = "${var.name}-${each.value.name}"
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
    topic_name = google_pubsub_topic.schedule["export"].id
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
    topic_name = google_pubsub_topic.schedule["catch_up"].id
    data       = base64encode(jsonencode({ job = "catch-up" }))
  }
}
