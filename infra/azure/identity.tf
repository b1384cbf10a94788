# One user-assigned identity for the functions. On the data account it holds Storage Blob Data Contributor on
# the container only, with an ABAC condition: write and delete only under the results prefix (and, when the
# export timer pulls from a cluster API, under the allocations prefix).
resource "azurerm_user_assigned_identity" "functions" {
  name                = "${var.name}-functions"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

locals {
  container_scope = "${azurerm_storage_account.data.id}/blobServices/default/containers/${azurerm_storage_container.store.name}"
}

# The ABAC condition: any read; write, add, delete and move only where the blob path starts with a writable
# prefix. Self-contained on purpose: tests/infra renders this block with Terraform itself.
locals {
  writable_prefixes = concat(
    [local.results_key_prefix],
    var.source_url == null ? [] : [local.input_prefixes.allocations],
  )
  blob_path      = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
  blob_write_ops = ["blobs/write", "blobs/add/action", "blobs/delete", "blobs/move/action"]
  write_condition = join("\n", [
    "(",
    " (",
    join("\n  AND\n", [for op in local.blob_write_ops : "  !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/${op}'})"]),
    " )",
    " OR",
    " (",
    join("\n  OR\n", [for prefix in local.writable_prefixes : "  ${local.blob_path} StringStartsWith '${prefix}'"]),
    " )",
    ")",
  ])
}

resource "azurerm_role_assignment" "container" {
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
  condition_version    = "2.0"
  condition            = local.write_condition
}

# The Functions host keeps timer locks and the deployment package in its own account (not the data account).
resource "azurerm_role_assignment" "host_blobs" {
  scope                = azurerm_storage_account.host.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "telemetry" {
  scope                = azurerm_application_insights.kubebill.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}
