# The data account holds the one container kubebill reads and writes; Entra ID only (no shared key).
resource "azurerm_storage_account" "data" {
  #checkov:skip=CKV_AZURE_43:The name is 10 letters/digits of var.name + 8 hex digits + one letter (at most 19, lower case); checkov cannot evaluate md5() of a data source
  #checkov:skip=CKV_AZURE_206:LRS: results are rebuilt from the inputs and the billing exports can be re-run; GRS doubles the cost
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys; a customer managed key needs a Key Vault the user owns
  #checkov:skip=CKV2_AZURE_33:No private endpoint: Event Grid, Cost Management and Flex Consumption without VNet integration reach the account over its public endpoint, with Entra ID auth only
  #checkov:skip=CKV_AZURE_59:Public network access is needed by Cost Management exports and the functions (no VNet); access is Entra ID only
  #checkov:skip=CKV_AZURE_33:No queues are used; queue logging has nothing to log
  #checkov:skip=CKV2_AZURE_41:Shared key and therefore SAS are disabled
  name                            = "${local.compact_name}${local.suffix}d"
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  account_kind                    = "StorageV2"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = var.shared_access_key_enabled
  default_to_oauth_authentication = true
  local_user_enabled              = false
  tags                            = var.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "store" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging goes through diagnostic settings, which the user wires to their own workspace
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.data.id
  container_access_type = "private"
}

# Event Grid dead letters (events the merge function never accepted).
resource "azurerm_storage_container" "dead_letters" {
  #checkov:skip=CKV2_AZURE_21:Dead-letter container: blob read logging adds nothing
  name                  = "${var.container_name}-dead-letters"
  storage_account_id    = azurerm_storage_account.data.id
  container_access_type = "private"
}

resource "azurerm_storage_management_policy" "data" {
  storage_account_id = azurerm_storage_account.data.id

  rule {
    name    = "expire-old-versions"
    enabled = true
    filters {
      blob_types = ["blockBlob"]
    }
    actions {
      version {
        delete_after_days_since_creation = var.noncurrent_days
      }
    }
  }

  # Merge bookkeeping is rewritten on every merge: its old versions are worthless after a day.
  rule {
    name    = "expire-state-versions"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${var.container_name}/${local.results_key_prefix}_state/"]
    }
    actions {
      version {
        delete_after_days_since_creation = 1
      }
    }
  }
}

# The host account holds the Functions host state (timer locks) and the deployment package.
resource "azurerm_storage_account" "host" {
  #checkov:skip=CKV_AZURE_43:The name is 10 letters/digits of var.name + 8 hex digits + one letter (at most 19, lower case); checkov cannot evaluate md5() of a data source
  #checkov:skip=CKV_AZURE_206:LRS: host state and the deployment package are reproducible
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys; a customer managed key needs a Key Vault the user owns
  #checkov:skip=CKV2_AZURE_33:No private endpoint: Flex Consumption without VNet integration reaches it over the public endpoint, Entra ID only
  #checkov:skip=CKV_AZURE_59:Public network access is needed by the Functions host without VNet integration; access is Entra ID only
  #checkov:skip=CKV_AZURE_33:Queue logging: the host's queues carry no data of kubebill
  #checkov:skip=CKV2_AZURE_38:Host state and the deployment package are reproducible; soft delete adds nothing
  #checkov:skip=CKV2_AZURE_41:Shared key and therefore SAS are disabled
  name                            = "${local.compact_name}${local.suffix}h"
  resource_group_name             = var.resource_group_name
  location                        = var.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  account_kind                    = "StorageV2"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  local_user_enabled              = false
  tags                            = var.tags
}

resource "azurerm_storage_container" "deployment" {
  #checkov:skip=CKV2_AZURE_21:Deployment package container: blob read logging adds nothing
  for_each              = local.apps
  name                  = "deployment-${each.key}"
  storage_account_id    = azurerm_storage_account.host.id
  container_access_type = "private"
}
