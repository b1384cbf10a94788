variable "name" {
  description = "Prefix of every resource name (functions, role, queue, schedules, Glue database)."
  type        = string
  default     = "kubebill"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "bucket_name" {
  description = "Name of the S3 bucket kubebill creates and owns. Default: <name>-<account id>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-')."
  }
}

variable "package_zip" {
  description = "Path of the Lambda zip built by `kubebill package --cloud aws --out DIR` for `architecture` (e.g. DIR/kubebill-aws-arm64.zip)."
  type        = string

  validation {
    condition     = endswith(var.package_zip, ".zip")
    error_message = "package_zip must be the path of a .zip file written by `kubebill package --cloud aws`."
  }
}

variable "metrics_auth" {
  description = "Who may call the metrics function URL: \"token\" (public URL, bearer token checked by the handler) or \"iam\" (AWS_IAM: SigV4-signed callers granted lambda:InvokeFunctionUrl only)."
  type        = string
  default     = "token"

  validation {
    condition     = contains(["token", "iam"], var.metrics_auth)
    error_message = "metrics_auth must be token or iam."
  }
}

variable "artifacts_prefix" {
  description = "Key prefix in the store bucket the function zip is uploaded under (Lambda takes zips over 50 MB only from S3)."
  type        = string
  default     = "artifacts"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.artifacts_prefix))
    error_message = "artifacts_prefix must be a key prefix without leading or trailing '/'."
  }
}

variable "architecture" {
  description = "Lambda architecture; must match the zip in package_zip."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "python_runtime" {
  description = "Lambda runtime; the zip carries wheels for this Python version (kubebill package builds for 3.12 and 3.13)."
  type        = string
  default     = "python3.12"

  validation {
    # python3.11 runs on Amazon Linux 2 (glibc 2.26): the locked pyarrow, duckdb and numpy need glibc 2.28
    condition     = can(regex("^python3\\.(1[2-9])$", var.python_runtime))
    error_message = "python_runtime must be python3.12 or newer."
  }
}

variable "allocations_prefix" {
  description = "KUBEBILL_ALLOCATIONS_PREFIX: key prefix of the allocation exports (merge trigger, read access)."
  type        = string
  default     = "allocations"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.allocations_prefix))
    error_message = "allocations_prefix must be a key prefix without leading or trailing '/'."
  }
}

variable "billing_prefix" {
  description = "KUBEBILL_BILLING_PREFIX: key prefix the billing exports write under (merge trigger, read access, CUR destination)."
  type        = string
  default     = "billing"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.billing_prefix))
    error_message = "billing_prefix must be a key prefix without leading or trailing '/'."
  }
}

variable "results_prefix" {
  description = "KUBEBILL_RESULTS_PREFIX: key prefix of results and merge state: the only prefix the functions may write."
  type        = string
  default     = "results"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.results_prefix))
    error_message = "results_prefix must be a key prefix without leading or trailing '/'."
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
  description = "KUBEBILL_SOURCE_URL: base URL of the allocation API the export function calls; null = the export schedule is created disabled (allocations come from an in-cluster CronJob instead)."
  type        = string
  default     = null

  validation {
    condition     = var.source_url == null || can(regex("^https?://", var.source_url))
    error_message = "source_url must start with http:// or https://."
  }
}

variable "cluster" {
  description = "KUBEBILL_CLUSTER: cluster name the export function writes into every allocation row."
  type        = string
  default     = null

  validation {
    condition     = var.cluster == null || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$", var.cluster))
    error_message = "cluster must be letters, digits, '.', '_' and '-'."
  }
}

variable "restate_days" {
  description = "KUBEBILL_RESTATE_DAYS: days the catch-up merge re-merges (bills are restated for days)."
  type        = number
  default     = 3

  validation {
    condition     = var.restate_days >= 0 && var.restate_days <= 62 && floor(var.restate_days) == var.restate_days
    error_message = "restate_days must be a whole number from 0 to 62."
  }
}

variable "tenant_id" {
  description = "KUBEBILL_TENANT_ID: tenant_id label on every metric family."
  type        = string
  default     = ""
}

variable "metrics_token" {
  description = "KUBEBILL_METRICS_TOKEN: bearer token the metrics Function URL requires. Lambda has no secret reference for environment variables, so the value is stored in the Terraform state: keep the state encrypted (S3 backend with SSE). null = metrics answer 401 to everyone."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.metrics_token == null ? true : length(var.metrics_token) >= 32
    error_message = "metrics_token must be at least 32 characters (e.g. `openssl rand -hex 32`)."
  }
}

variable "memory_mb" {
  description = "Memory of the export and merge functions in MB; KUBEBILL_MEMORY_LIMIT (DuckDB) is set to 70% of each function's memory."
  type        = number
  default     = 3008

  validation {
    condition     = var.memory_mb >= 512 && var.memory_mb <= 10240
    error_message = "memory_mb must be from 512 to 10240."
  }
}

variable "tmp_mb" {
  description = "Ephemeral storage (/tmp) of the export and merge functions in MB: where the merge stages its inputs and DuckDB spills. A 10M-line day spilled 8.4 GB (README, Engines): raise it to 10240 for days near that size, or set engine = \"spark\"."
  type        = number
  default     = 4096

  validation {
    condition     = var.tmp_mb >= 512 && var.tmp_mb <= 10240
    error_message = "tmp_mb must be from 512 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the export and merge functions."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout_seconds >= 30 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be from 30 to 900 (the Lambda maximum)."
  }
}

variable "merge_concurrency" {
  description = "Reserved concurrency of the merge function (caps parallel merges and cost; 0 pauses it). null = unreserved: new accounts with a concurrency quota of 10 cannot reserve any."
  type        = number
  default     = null

  validation {
    condition     = var.merge_concurrency == null ? true : var.merge_concurrency >= 0 && var.merge_concurrency <= 100
    error_message = "merge_concurrency must be null or from 0 to 100."
  }
}

variable "export_schedule" {
  description = "EventBridge Scheduler expression of the daily export (UTC)."
  type        = string
  default     = "cron(10 0 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.export_schedule))
    error_message = "export_schedule must be an EventBridge Scheduler cron(...) or rate(...) expression."
  }
}

variable "catch_up_schedule" {
  description = "EventBridge Scheduler expression of the daily catch-up merge (UTC)."
  type        = string
  default     = "cron(40 0 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.catch_up_schedule))
    error_message = "catch_up_schedule must be an EventBridge Scheduler cron(...) or rate(...) expression."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the function log groups."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, 400, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the bucket, logs and queue; null = SSE-S3 / SSE-SQS / CloudWatch's own encryption. The key policy must let bcm-data-exports.amazonaws.com, logs.<region>.amazonaws.com and the function role use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket that receives S3 server access logs of the kubebill bucket; null = no access logging."
  type        = string
  default     = null
}

variable "noncurrent_days" {
  description = "Days an overwritten or deleted object version is kept (versioning protects results and inputs from mistakes)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_days >= 1
    error_message = "noncurrent_days must be at least 1."
  }
}

variable "enable_billing_export" {
  description = "Create the CUR 2.0 export (BCM Data Exports) into <billing_prefix>/aws. Needs the management (payer) account or a member account with billing access."
  type        = bool
  default     = true
}

variable "billing_export_name" {
  description = "Name of the CUR 2.0 export; files land under <billing_prefix>/aws/<name>/."
  type        = string
  default     = "kubebill-cur2"

  validation {
    condition     = can(regex("^[0-9A-Za-z!_.*'()-]{1,128}$", var.billing_export_name))
    error_message = "billing_export_name must be 1-128 characters of letters, digits and !_.*'()-."
  }
}

variable "split_cost_allocation_data" {
  description = "Include AWS split cost allocation data (EKS pod-level lines) in the CUR 2.0 export; enable it first in the Billing console preferences."
  type        = bool
  default     = false
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the Athena workgroup in bytes (cost guard)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10 MB (Athena's minimum)."
  }
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "engine" {
  description = "What merges: \"function\" (the merge Lambda, embedded DuckDB) or \"spark\" (an EMR Serverless job on spark_schedule; the merge Lambda gets KUBEBILL_ENGINE=spark and only records the changed days)."
  type        = string
  default     = "function"

  validation {
    condition     = contains(["function", "spark"], var.engine)
    error_message = "engine must be function or spark."
  }
}

variable "spark_package_dir" {
  description = "engine = \"spark\": the folder written by `kubebill package --target spark --arch <architecture> --out DIR` (DIR/spark)."
  type        = string
  default     = null

  validation {
    condition     = var.engine == "spark" ? var.spark_package_dir != null : true
    error_message = "engine = \"spark\" needs spark_package_dir: the spark/ folder `kubebill package --target spark` writes."
  }

  validation {
    condition     = var.spark_package_dir == null ? true : !endswith(var.spark_package_dir, ".zip")
    error_message = "spark_package_dir must be the spark/ folder `kubebill package --target spark` writes, not a zip."
  }
}

variable "spark_release_label" {
  description = "EMR Serverless release of the Spark application."
  type        = string
  default     = "emr-7.1.0"

  validation {
    condition     = can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", var.spark_release_label))
    error_message = "spark_release_label must be an EMR release label such as emr-7.1.0."
  }
}

variable "spark_image_uri" {
  description = "engine = \"spark\": ECR image of the application, built FROM the release's EMR Serverless Spark image with the Python the dependency archive was built for (kubebill package --python, 3.12 by default; see README)."
  type        = string
  default     = null

  validation {
    condition     = var.engine == "spark" ? var.spark_image_uri != null : true
    error_message = "engine = \"spark\" needs spark_image_uri: an image with the Python of the dependency archive (see README)."
  }
}

variable "spark_python" {
  description = "Path of that Python inside spark_image_uri (PYSPARK_PYTHON of the driver and the executors)."
  type        = string
  default     = "/usr/bin/python3.12"
}

variable "spark_max_vcpu" {
  description = "Most vCPUs the Spark application may use at once (memory is 4 GB per vCPU); caps cost."
  type        = number
  default     = 64

  validation {
    condition     = var.spark_max_vcpu >= 4 && floor(var.spark_max_vcpu) == var.spark_max_vcpu
    error_message = "spark_max_vcpu must be a whole number of at least 4."
  }
}

variable "spark_schedule" {
  description = "EventBridge Scheduler expression of the Spark merge (UTC): after the catch-up schedule, which records the restated days for it."
  type        = string
  default     = "cron(10 1 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.spark_schedule))
    error_message = "spark_schedule must be an EventBridge Scheduler cron(...) or rate(...) expression."
  }
}
