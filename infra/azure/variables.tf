variable "resource_group_name" {
  description = "Existing resource group that receives every kubebill resource."
  type        = string

  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 letters, digits, '-', '_', '.', '(' or ')'."
  }
}

variable "location" {
  description = "Azure region, e.g. westeurope (Flex Consumption must be available there)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be a region name such as westeurope (lower case, no spaces)."
  }
}

variable "name" {
  description = "Prefix of every resource name; a short hash of subscription and resource group keeps global names unique."
  type        = string
  default     = "kubebill"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name))
    error_message = "name must be 3-16 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "container_name" {
  description = "Blob container that holds allocations/, billing/ and results/ (KUBEBILL_STORE = az://<container>)."
  type        = string
  default     = "kubebill"

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.container_name))
    error_message = "container_name must be 3-63 lower-case letters, digits and single '-'."
  }
}

variable "package_dir" {
  description = "Folder written by `kubebill package --cloud azure --out DIR` (DIR/azure: function_app.py, host.json, requirements.txt, kubebill/)."
  type        = string

  validation {
    condition     = !endswith(var.package_dir, ".zip")
    error_message = "package_dir is the azure/ folder written by `kubebill package --cloud azure`, not a zip."
  }
}

variable "deploy_code" {
  description = "Deploy package_dir during apply with `az functionapp deployment source config-zip --build-remote true` (needs the Azure CLI, logged in). The Event Grid subscription can only be created once merge_blob exists."
  type        = bool
  default     = true
}

variable "python_version" {
  description = "Python version of the Function App."
  type        = string
  default     = "3.12"

  validation {
    condition     = contains(["3.11", "3.12"], var.python_version)
    error_message = "python_version must be 3.11 or 3.12."
  }
}

variable "instance_memory_mb" {
  description = "Flex Consumption instance memory; KUBEBILL_MEMORY_LIMIT is set to 70% of it."
  type        = number
  default     = 2048

  validation {
    condition     = contains([512, 2048, 4096], var.instance_memory_mb)
    error_message = "instance_memory_mb must be 512, 2048 or 4096."
  }
}

variable "maximum_instance_count" {
  description = "Flex Consumption scale-out limit (caps parallel merges and cost)."
  type        = number
  default     = 40

  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000
    error_message = "maximum_instance_count must be from 1 to 1000."
  }
}

variable "allocations_prefix" {
  description = "KUBEBILL_ALLOCATIONS_PREFIX: blob name prefix of the allocation exports."
  type        = string
  default     = "allocations"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.allocations_prefix))
    error_message = "allocations_prefix must be a blob prefix without leading or trailing '/'."
  }
}

variable "billing_prefix" {
  description = "KUBEBILL_BILLING_PREFIX: blob name prefix the Cost Management exports write under (<billing_prefix>/azure/)."
  type        = string
  default     = "billing"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.billing_prefix))
    error_message = "billing_prefix must be a blob prefix without leading or trailing '/'."
  }
}

variable "results_prefix" {
  description = "KUBEBILL_RESULTS_PREFIX: blob name prefix of results and merge state: the only prefix the functions may write."
  type        = string
  default     = "results"

  validation {
    condition     = can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.results_prefix))
    error_message = "results_prefix must be a blob prefix without leading or trailing '/'."
  }
}

variable "source_kind" {
  description = "KUBEBILL_SOURCE: allocation API the export function reads (opencost, kubecost or aks)."
  type        = string
  default     = "aks"

  validation {
    condition     = contains(["opencost", "kubecost", "aks"], var.source_kind)
    error_message = "source_kind must be opencost, kubecost or aks."
  }
}

variable "source_url" {
  description = "KUBEBILL_SOURCE_URL: allocation API the export timer calls; null = the export timer is disabled (allocations come from an in-cluster CronJob)."
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
  description = "KUBEBILL_RESTATE_DAYS: days the catch-up merge re-merges."
  type        = number
  default     = 3

  validation {
    condition     = var.restate_days >= 0 && var.restate_days <= 62 && floor(var.restate_days) == var.restate_days
    error_message = "restate_days must be a whole number from 0 to 62."
  }
}

variable "export_schedule" {
  description = "KUBEBILL_EXPORT_SCHEDULE: 6-field NCRONTAB (UTC) of the export timer."
  type        = string
  default     = "0 10 0 * * *"

  validation {
    condition     = length(split(" ", var.export_schedule)) == 6
    error_message = "export_schedule must be a 6-field NCRONTAB expression such as '0 10 0 * * *'."
  }
}

variable "catch_up_schedule" {
  description = "KUBEBILL_CATCH_UP_SCHEDULE: 6-field NCRONTAB (UTC) of the catch-up timer."
  type        = string
  default     = "0 40 0 * * *"

  validation {
    condition     = length(split(" ", var.catch_up_schedule)) == 6
    error_message = "catch_up_schedule must be a 6-field NCRONTAB expression such as '0 40 0 * * *'."
  }
}

variable "tenant_id" {
  description = "KUBEBILL_TENANT_ID: tenant_id label on every metric family."
  type        = string
  default     = ""
}

variable "metrics_token" {
  description = "KUBEBILL_METRICS_TOKEN: bearer token the metrics function requires on top of its function key. Stored as an app setting, hence in the Terraform state: keep the state encrypted (azurerm backend). null = metrics answer 401."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.metrics_token == null ? true : length(var.metrics_token) >= 32
    error_message = "metrics_token must be at least 32 characters (e.g. `openssl rand -hex 32`)."
  }
}

variable "shared_access_key_enabled" {
  description = "Allow shared-key (account key / SAS) access to the data storage account. Off: the functions, Event Grid and Terraform use Entra ID only."
  type        = bool
  default     = false
}

variable "enable_billing_exports" {
  description = "Create the Cost Management exports (daily, month to date) of the subscription into <billing_prefix>/azure/."
  type        = bool
  default     = true
}

variable "billing_export_types" {
  description = "Cost Management export types to create: ActualCost and AmortizedCost (kubebill reads both)."
  type        = list(string)
  default     = ["ActualCost", "AmortizedCost"]

  validation {
    condition     = length(var.billing_export_types) > 0 && alltrue([for t in var.billing_export_types : contains(["ActualCost", "AmortizedCost", "Usage"], t)])
    error_message = "billing_export_types must be a non-empty list of ActualCost, AmortizedCost, Usage."
  }
}

variable "log_retention_days" {
  description = "Retention of the Log Analytics workspace behind Application Insights."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be from 30 to 730."
  }
}

variable "noncurrent_days" {
  description = "Days an overwritten or deleted blob version is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_days >= 1 && var.noncurrent_days <= 365
    error_message = "noncurrent_days must be from 1 to 365."
  }
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "engine" {
  description = "What merges: \"function\" (the merge Function App, embedded DuckDB) or \"spark\" (an Azure Databricks job on spark_schedule; the functions get KUBEBILL_ENGINE=spark and only record the changed days)."
  type        = string
  default     = "function"

  validation {
    condition     = contains(["function", "spark"], var.engine)
    error_message = "engine must be function or spark."
  }
}

variable "spark_package_dir" {
  description = "engine = \"spark\": the folder written by `kubebill package --target spark --out DIR` (DIR/spark): the job installs its wheel."
  type        = string
  default     = null

  validation {
    condition     = var.engine == "spark" ? var.spark_package_dir != null : true
    error_message = "engine = \"spark\" needs spark_package_dir: the spark/ folder `kubebill package --target spark` writes."
  }
}

variable "spark_version" {
  description = "Databricks Runtime of the job cluster (15.4 LTS runs Python 3.11, 16.4 LTS Python 3.12; kubebill needs 3.11 or later)."
  type        = string
  default     = "15.4.x-scala2.12"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.x-", var.spark_version))
    error_message = "spark_version must be a Databricks Runtime key such as 15.4.x-scala2.12."
  }
}

variable "spark_node_type" {
  description = "VM size of the job cluster's driver and workers."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "spark_max_workers" {
  description = "Most workers the job cluster autoscales to (it starts with one); caps cost."
  type        = number
  default     = 8

  validation {
    condition     = var.spark_max_workers >= 1 && floor(var.spark_max_workers) == var.spark_max_workers
    error_message = "spark_max_workers must be a whole number of at least 1."
  }
}

variable "spark_schedule" {
  description = "Quartz cron (UTC) of the Spark merge: after the catch-up timer, which records the restated days for it."
  type        = string
  default     = "0 10 1 * * ?"

  validation {
    condition     = length(split(" ", var.spark_schedule)) >= 6
    error_message = "spark_schedule must be a Quartz cron expression such as '0 10 1 * * ?'."
  }
}
