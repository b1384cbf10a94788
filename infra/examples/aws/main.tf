# A runnable root: `kubebill package --cloud aws --out dist` then `terraform init && terraform apply`.
# engine = "spark": also `kubebill package --target spark --arch arm64 --out dist`, and an image (infra/aws/README.md).
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "region" {
  description = "Region of the bucket and the functions."
  type        = string
  default     = "eu-west-1"
}

variable "package_zip" {
  description = "Zip written by `kubebill package --cloud aws --out dist`."
  type        = string
  default     = "../../../dist/kubebill-aws-arm64.zip"
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

variable "spark_image_uri" {
  description = "engine = \"spark\": ECR image of the EMR Serverless application with Python 3.12 (infra/aws/README.md)."
  type        = string
  default     = null
}

variable "metrics_token" {
  description = "Bearer token for the metrics URL (e.g. TF_VAR_metrics_token=$(openssl rand -hex 32))."
  type        = string
  default     = null
  sensitive   = true
}

provider "aws" {
  region = var.region
}

# BCM Data Exports is served from us-east-1 only.
provider "aws" {
  alias  = "billing"
  region = "us-east-1"
}

module "kubebill" {
  source = "../../aws"
  providers = {
    aws         = aws
    aws.billing = aws.billing
  }

  package_zip   = var.package_zip
  architecture  = "arm64"
  source_url    = var.source_url
  cluster       = var.cluster
  metrics_token = var.metrics_token

  engine            = var.engine
  spark_package_dir = var.engine == "spark" ? var.spark_package_dir : null
  spark_image_uri   = var.spark_image_uri
}

output "kubebill" {
  description = "Everything the module exposes (bucket, store URL, metrics URL, Athena table...)."
  value       = module.kubebill
}
