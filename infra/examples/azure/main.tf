# A runnable root: `kubebill package --cloud azure --out dist`, `az login`, then `terraform init && terraform apply`.
# engine = "spark": also `kubebill package --target spark --out dist`; the first apply creates the Databricks
# workspace the databricks provider signs in to (`terraform apply -target=module.kubebill.azurerm_databricks_workspace.spark`
# first when the provider cannot be configured yet).
terraform {
  required_version = ">= 1.10"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.40"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.4"
    }
    databricks = {
      source  = "databricks/databricks"
      version = "~> 1.84"
    }
  }
}

variable "subscription_id" {
  description = "Subscription to deploy into (its costs are exported)."
  type        = string
}

variable "location" {
  description = "Azure region with Flex Consumption."
  type        = string
  default     = "westeurope"
}

variable "package_dir" {
  description = "Folder written by `kubebill package --cloud azure --out dist`."
  type        = string
  default     = "../../../dist/azure"
}

variable "source_url" {
  description = "AKS cost-analysis agent or OpenCost URL the export timer can reach, or null when an in-cluster CronJob exports."
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

variable "metrics_token" {
  description = "Bearer token for the metrics function (e.g. TF_VAR_metrics_token=$(openssl rand -hex 32))."
  type        = string
  default     = null
  sensitive   = true
}

provider "azurerm" {
  features {}
  subscription_id     = var.subscription_id
  storage_use_azuread = true
}

# engine = "spark" only: the workspace the module creates (unused otherwise)
provider "databricks" {
  host                        = module.kubebill.databricks_workspace_url
  azure_workspace_resource_id = module.kubebill.databricks_workspace_id
}

resource "azurerm_resource_group" "kubebill" {
  name     = "kubebill"
  location = var.location
}

module "kubebill" {
  source = "../../azure"

  resource_group_name = azurerm_resource_group.kubebill.name
  location            = azurerm_resource_group.kubebill.location
  package_dir         = var.package_dir
  source_url          = var.source_url
  cluster             = var.cluster
  metrics_token       = var.metrics_token

  engine            = var.engine
  spark_package_dir = var.engine == "spark" ? var.spark_package_dir : null
}

output "kubebill" {
  description = "Everything the module exposes (storage account, store URL, app name, metrics URL...)."
  value       = module.kubebill
}
