# engine = "spark": Cloud Scheduler creates a Dataproc Serverless batch on spark_schedule that runs
# `kubebill merge --engine spark` over the days the functions recorded (results/_state/queue.json).
# Two service accounts: the batch runs as `spark` (the merge function's bucket roles, plus the job's own
# objects); Scheduler calls batches.create as `spark-run`, which may only create batches and act as `spark`.
locals {
  spark      = var.engine == "spark"
  spark_deps = "kubebill-spark-deps-x86_64.tar.gz"
  spark_artifacts = local.spark ? {
    entry = "kubebill_spark_job.py"
    deps  = local.spark_deps
  } : {}
  spark_prefix = "spark/"
}

resource "google_storage_bucket_object" "spark" {
  for_each = local.spark_artifacts
  name     = "${local.spark_prefix}${each.value}"
  bucket   = google_storage_bucket.sources.name
  source   = "${var.spark_package_dir}/${each.value}"
}

resource "google_service_account" "spark" {
  count        = local.spark ? 1 : 0
  project      = var.project_id
  account_id   = "${var.name}-spark"
  display_name = "kubebill Spark merge (bucket-scoped roles only)"
}

resource "google_service_account" "spark_run" {
  count        = local.spark ? 1 : 0
  project      = var.project_id
  account_id   = "${var.name}-spark-run"
  display_name = "kubebill Cloud Scheduler: creates the Spark merge batch"
}

# A Dataproc Serverless workload's account needs the worker role on the project.
resource "google_project_iam_member" "spark_worker" {
  count   = local.spark ? 1 : 0
  project = var.project_id
  role    = "roles/dataproc.worker"
  member  = "serviceAccount:${google_service_account.spark[0].email}"
}

resource "google_storage_bucket_iam_member" "spark_read" {
  count  = local.spark ? 1 : 0
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.spark[0].email}"
}

resource "google_storage_bucket_iam_member" "spark_write_results" {
  count  = local.spark ? 1 : 0
  bucket = google_storage_bucket.store.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.spark[0].email}"

  condition {
    title       = "kubebill-results-only"
    description = "Create, overwrite and delete only under the results prefix"
    expression  = "resource.name.startsWith(\"${local.object_names}${local.results_key_prefix}\")"
  }
}

resource "google_storage_bucket_iam_member" "spark_reads_job" {
  count  = local.spark ? 1 : 0
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.spark[0].email}"

  condition {
    title       = "kubebill-spark-job-only"
    description = "Read only the Spark job's entry script and dependency archive"
    expression  = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.sources.name}/objects/${local.spark_prefix}\")"
  }
}

resource "google_project_iam_custom_role" "spark_run" {
  count       = local.spark ? 1 : 0
  project     = var.project_id
  role_id     = replace("${var.name}_spark_run", "-", "_")
  title       = "kubebill Spark merge starter"
  description = "Create and read Dataproc Serverless batches, nothing else"
  permissions = ["dataproc.batches.create", "dataproc.batches.get"]
}

resource "google_project_iam_member" "spark_run" {
  count   = local.spark ? 1 : 0
  project = var.project_id
  role    = google_project_iam_custom_role.spark_run[0].id
  member  = "serviceAccount:${google_service_account.spark_run[0].email}"
}

resource "google_service_account_iam_member" "spark_run_acts_as_spark" {
  count              = local.spark ? 1 : 0
  service_account_id = google_service_account.spark[0].name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.spark_run[0].email}"
}

resource "google_cloud_scheduler_job" "spark" {
  count       = local.spark ? 1 : 0
  project     = var.project_id
  region      = var.region
  name        = "${var.name}-spark-merge"
  description = "Spark merge of the recorded and changed days (kubebill merge --engine spark)"
  schedule    = var.spark_schedule
  time_zone   = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://dataproc.googleapis.com/v1/projects/${var.project_id}/locations/${var.region}/batches"
    headers     = { "Content-Type" = "application/json" }
    # no batchId: Dataproc names each run, so every schedule tick is a new batch
    body = base64encode(jsonencode({
      labels = merge(var.labels, { kubebill = "merge" })
      pysparkBatch = {
        mainPythonFileUri = "gs://${google_storage_bucket.sources.name}/${google_storage_bucket_object.spark["entry"].name}"
        args              = ["--store", local.settings.KUBEBILL_STORE]
        archiveUris       = ["gs://${google_storage_bucket.sources.name}/${google_storage_bucket_object.spark["deps"].name}#deps"]
      }
      runtimeConfig = {
        version = var.spark_runtime_version
        properties = merge(
          {
            "spark.executorEnv.PYTHONPATH"             = "./deps"
            "spark.dataproc.driverEnv.PYTHONPATH"      = "./deps"
            "spark.dataproc.driverEnv.KUBEBILL_ENGINE" = "spark"
          },
          { for key, value in local.environment : "spark.dataproc.driverEnv.${key}" => value },
        )
      }
      environmentConfig = {
        executionConfig = merge(
          { serviceAccount = google_service_account.spark[0].email },
          var.spark_subnetwork == null ? {} : { subnetworkUri = var.spark_subnetwork },
        )
      }
    }))

    oauth_token {
      service_account_email = google_service_account.spark_run[0].email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  retry_config {
    retry_count = 3
  }

  depends_on = [google_project_iam_member.spark_run, google_service_account_iam_member.spark_run_acts_as_spark, google_project_service.apis]
}
