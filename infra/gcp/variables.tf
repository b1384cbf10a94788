variable "project_id" {
  description = "Google Cloud project that holds the bucket, the functions and the BigQuery datasets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lower-case letters, digits, '-')."
  }
}

variable "region" {
  description = "Region of the bucket, the functions, the Eventarc trigger and the scheduler jobs (one region: a storage trigger must be in the bucket's location)."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a single Google Cloud region such as europe-west1 (not a multi-region)."
  }
}

variable "name" {
  description = "Prefix of every resource name (functions, service accounts, topic, jobs)."
  type        = string
  default     = "kubebill"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lower-case letters, digits or '-', starting with a letter (service account ids are at most 30 characters)."
  }
}

variable "bucket_name" {
  description = "Name of the GCS bucket kubebill creates and owns. Default: <project_id>-<name>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid GCS bucket name."
  }
}

variable "package_dir" {
  description = "Folder written by `kubebill package --cloud gcp --out DIR` (DIR/gcp: main.py, requirements.txt, kubebill/)."
  type        = string

  validation {
    condition     = !endswith(var.package_dir, ".zip")
    error_message = "package_dir is the gcp/ folder written by `kubebill package --cloud gcp`, not a zip."
  }
}

variable "metrics_auth" {
  description = "Who may call the metrics function: \"token\" (allUsers may invoke, the handler checks the bearer token) or \"iam\" (only principals granted roles/run.invoker, with a Google ID token)."
  type        = string
  default     = "token"

  validation {
    condition     = contains(["token", "iam"], var.metrics_auth)
    error_message = "metrics_auth must be token or iam."
  }
}

variable "python_runtime" {
  description = "Cloud Functions runtime."
  type        = string
  default     = "python312"

  validation {
    condition     = can(regex("^python3(1[1-9])$", var.python_runtime))
    error_message = "python_runtime must be python311 or newer."
  }
}

variable "allocations_prefix" {
  description = "KUBEBILL_ALLOCATIONS_PREFIX: object prefix of the allocation exports."
  type        = string
  default     = "allocations"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.allocations_prefix))
    error_message = "allocations_prefix must be an object prefix without leading or trailing '/'."
  }
}

variable "billing_prefix" {
  description = "KUBEBILL_BILLING_PREFIX: object prefix the billing extracts are written under (the scheduled query writes <billing_prefix>/gcp/)."
  type        = string
  default     = "billing"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.billing_prefix))
    error_message = "billing_prefix must be an object prefix without leading or trailing '/'."
  }
}

variable "results_prefix" {
  description = "KUBEBILL_RESULTS_PREFIX: object prefix of results and merge state: the only prefix the functions may write."
  type        = string
  default     = "results"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.results_prefix))
    error_message = "results_prefix must be an object prefix without leading or trailing '/'."
  }
}

variable "source_kind" {
  description = "KUBEBILL_SOURCE: allocation API the export function reads (opencost, kubecost or aks)."
  type        = string
  default     = "opencost"

  validation {
    condition     = contains(["opencost", "kubecost", "aks"], var.source_kind)
    error_message = "source_kind must be opencost, kubecost or aks."
  }
}

variable "source_url" {
  description = "KUBEBILL_SOURCE_URL: allocation API the export job calls; null = the export job is created paused (allocations come from an in-cluster CronJob)."
  type        = string
  default     = null

  validation {
    condition     = var.source_url == null || can(regex("^https?://", var.source_url))
    error_message = "source_url must start with http:// or https://."
  }
}

variable "cluster" {
  description = "KUBEBILL_CLUSTER: cluster name the export writes into every allocation row."
  type        = string
  default     = null

  validation {
    condition     = var.cluster == null || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$", var.cluster))
    error_message = "cluster must be letters, digits, '.', '_' and '-'."
  }
}

variable "restate_days" {
  description = "KUBEBILL_RESTATE_DAYS: days the catch-up merge re-merges; also the days the billing scheduled query re-exports."
  type        = number
  default     = 3

  validation {
    condition     = var.restate_days >= 1 && var.restate_days <= 62 && floor(var.restate_days) == var.restate_days
    error_message = "restate_days must be a whole number from 1 to 62."
  }
}

variable "tenant_id" {
  description = "KUBEBILL_TENANT_ID: tenant_id label on every metric family."
  type        = string
  default     = ""
}

variable "metrics_token" {
  description = "KUBEBILL_METRICS_TOKEN: bearer token of the metrics function. Ephemeral: written to Secret Manager through a write-only argument, never stored in state or plan (e.g. TF_VAR_metrics_token=$(openssl rand -hex 32))."
  type        = string
  sensitive   = true
  ephemeral   = true
  nullable    = false
}

variable "metrics_token_version" {
  description = "Bump to write a new metrics_token into Secret Manager (write-only values are not compared)."
  type        = number
  default     = 1

  validation {
    condition     = var.metrics_token_version >= 1
    error_message = "metrics_token_version must be at least 1."
  }
}

variable "memory" {
  description = "Memory of the export and merge functions (Cloud Run size); KUBEBILL_MEMORY_LIMIT is set to 70% of it."
  type        = string
  default     = "2Gi"

  validation {
    condition     = contains(["1Gi", "2Gi", "4Gi", "8Gi"], var.memory)
    error_message = "memory must be 1Gi, 2Gi, 4Gi or 8Gi."
  }
}

variable "max_merges" {
  description = "Maximum instances of the merge function (caps parallel merges and cost)."
  type        = number
  default     = 4

  validation {
    condition     = var.max_merges >= 1 && var.max_merges <= 100
    error_message = "max_merges must be from 1 to 100."
  }
}

variable "export_schedule" {
  description = "Cloud Scheduler cron (UTC) of the daily export."
  type        = string
  default     = "10 0 * * *"

  validation {
    condition     = length(split(" ", var.export_schedule)) == 5
    error_message = "export_schedule must be a 5-field cron expression."
  }
}

variable "catch_up_schedule" {
  description = "Cloud Scheduler cron (UTC) of the daily catch-up merge."
  type        = string
  default     = "40 0 * * *"

  validation {
    condition     = length(split(" ", var.catch_up_schedule)) == 5
    error_message = "catch_up_schedule must be a 5-field cron expression."
  }
}

variable "noncurrent_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_days >= 1
    error_message = "noncurrent_days must be at least 1."
  }
}

variable "billing_export_table" {
  description = "The Cloud Billing detailed usage cost export table (project.dataset.gcp_billing_export_resource_v1_XXXXXX_XXXXXX_XXXXXX). Cloud Billing exports to BigQuery can only be switched on in the console; null = no scheduled extract yet."
  type        = string
  default     = null

  validation {
    condition     = var.billing_export_table == null || can(regex("^[a-z][a-z0-9-]+\\.[A-Za-z0-9_]+\\.gcp_billing_export_(resource_)?v1_[0-9A-F_]+$", var.billing_export_table))
    error_message = "billing_export_table must be project.dataset.gcp_billing_export_resource_v1_<billing account id with underscores>."
  }
}

variable "billing_export_location" {
  description = "BigQuery location of the billing export dataset (the scheduled query runs there; the bucket must be readable from it: same region, or the multi-region that contains it)."
  type        = string
  default     = "EU"
}

variable "billing_export_schedule" {
  description = "BigQuery Data Transfer schedule of the billing extract (UTC)."
  type        = string
  default     = "every day 06:00"
}

variable "results_dataset" {
  description = "BigQuery dataset (created) that holds the external results table."
  type        = string
  default     = "kubebill"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.results_dataset))
    error_message = "results_dataset must be letters, digits and underscores."
  }
}

variable "labels" {
  description = "Labels on every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "engine" {
  description = "What merges: \"function\" (the merge Cloud Function, embedded DuckDB) or \"spark\" (a Dataproc Serverless batch started by Cloud Scheduler on spark_schedule; the functions get KUBEBILL_ENGINE=spark and only record the changed days)."
  type        = string
  default     = "function"

  validation {
    condition     = contains(["function", "spark"], var.engine)
    error_message = "engine must be function or spark."
  }
}

variable "spark_package_dir" {
  description = "engine = \"spark\": the folder written by `kubebill package --target spark --out DIR` (DIR/spark, x86_64, Python 3.12 as runtime 2.2 runs)."
  type        = string
  default     = null

  validation {
    condition     = var.engine == "spark" ? var.spark_package_dir != null : true
    error_message = "engine = \"spark\" needs spark_package_dir: the spark/ folder `kubebill package --target spark` writes."
  }
}

variable "spark_runtime_version" {
  description = "Dataproc Serverless runtime of the batch (2.2: Spark 3.5, Python 3.12, which the dependency archive must match)."
  type        = string
  default     = "2.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.spark_runtime_version))
    error_message = "spark_runtime_version must be a runtime version such as 2.2."
  }
}

variable "spark_subnetwork" {
  description = "Subnetwork the batch runs in (needs Private Google Access); null = the region's subnetwork of the default network."
  type        = string
  default     = null
}

variable "spark_schedule" {
  description = "Cloud Scheduler cron (UTC) of the Spark merge: after the catch-up schedule, which records the restated days for it."
  type        = string
  default     = "10 1 * * *"

  validation {
    condition     = length(split(" ", var.spark_schedule)) == 5
    error_message = "spark_schedule must be a 5-field cron expression."
  }
}
