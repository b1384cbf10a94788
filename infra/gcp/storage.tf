# The one bucket (inputs under allocations/ and billing/, everything kubebill writes under results/), and a
# separate bucket for the function source archive so deployments never fire the storage trigger.
resource "google_storage_bucket" "store" {
  #checkov:skip=CKV_GCP_62:Access logs are optional; Cloud Audit Logs (data access) are the audit trail on Google Cloud
  name                        = local.bucket
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # Merge bookkeeping is rewritten on every merge: its old versions are worthless after a day.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
      with_state                 = "ARCHIVED"
      matches_prefix             = ["${local.results_key_prefix}_state/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Holds only the function source archive; Cloud Audit Logs cover it
  #checkov:skip=CKV_GCP_78:Source archives are content-addressed (md5 in the object name); versioning adds nothing
  name                        = "${local.bucket}-src"
  project                     = var.project_id
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ANY"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.package_dir
  output_path = "${path.root}/.terraform/kubebill-gcp-source.zip"
  excludes    = ["**/__pycache__/**"]
}

resource "google_storage_bucket_object" "source" {
  name   = "kubebill-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.sources.name
  source = data.archive_file.source.output_path
}
