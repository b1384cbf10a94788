# A runnable root: `kubebill package --cloud azure --out dist`, `az login`, then `terraform init && terraform apply`.
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
}

output "kubebill" {
  description = "Everything the module exposes (storage account, store URL, app name, metrics URL...)."
  value       = module.kubebill
}
