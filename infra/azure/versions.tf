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
    # engine = "spark" only: the job's service principal and the Databricks job
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
