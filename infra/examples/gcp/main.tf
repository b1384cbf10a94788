# A runnable root: `kubebill package --cloud gcp --out dist` then `terraform init && terraform apply`.
# engine = "spark": also `kubebill package --target spark --out dist` (x86_64, Python 3.12: runtime 2.2).
terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.40"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}

variable "project_id" {
  description = "Project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the bucket, the functions and the jobs."
  type        = string
  default     = "europe-west1"
}

variable "package_dir" {
  description = "Folder written by `kubebill package --cloud gcp --out dist`."
  type        = string
  default     = "../../../dist/gcp"
}

variable "source_url" {
  description = "OpenCost URL the export function can reach, or null when an in-cluster CronJob exports."
  type        = string
  default     = null
}

variable "cluster" {
  description = "Cluster name written into the allocation rows."
  type        = string
  default     = null
}

variable "billing_export_table" {
  description = "project.dataset.gcp_billing_export_resource_v1_... once the Cloud Billing export is on, else null."
  type        = string
  default     = null
}

variable "billing_export_location" {
  description = "BigQuery location of the billing export dataset."
  type        = string
  default     = "EU"
}

variable "engine" {
  description = "What merges: \"function\" (the merge function) or \"spark\" (the scheduled Spark job; build it with `kubebill package --target spark --out dist`)."
  type        = string
  default     = "function"
}

variable "spark_package_dir" {
  description = "Folder written by `kubebill package --target spark --out dist` (engine = \"spark\" only)."
  type        = string
  default     = "../../../dist/spark"
}

variable "metrics_token" {
  description = "Bearer token for the metrics URL: TF_VAR_metrics_token=$(openssl rand -hex 32). Never stored in state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

provider "google" {
  project = var.project_id
  region  = var.region
}

module "kubebill" {
  source = "../../gcp"

  project_id              = var.project_id
  region                  = var.region
  package_dir             = var.package_dir
  source_url              = var.source_url
  cluster                 = var.cluster
  billing_export_table    = var.billing_export_table
  billing_export_location = var.billing_export_location
  metrics_token           = var.metrics_token

  engine            = var.engine
  spark_package_dir = var.engine == "spark" ? var.spark_package_dir : null
}

output "kubebill" {
  description = "Everything the module exposes (bucket, store URL, metrics URL, BigQuery table...)."
  value       = module.kubebill
}
