# One Function App per job, each with its own user-assigned identity (one process holds one identity's tokens,
# so separate apps are what keeps one job from using another's rights). On the data account each identity
# holds one role on the container only:
#   export  Storage Blob Data Contributor, writes only under the allocations prefix (only when source_url is set)
#   merge   Storage Blob Data Contributor, writes only under the results prefix
#   metrics Storage Blob Data Reader, no write at all
resource "azurerm_user_assigned_identity" "function" {
  for_each            = local.apps
  name                = "${var.name}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

locals {
  container_scope = "${azurerm_storage_account.data.id}/blobServices/default/containers/${azurerm_storage_container.store.name}"
}

# The ABAC conditions: any read; write, add, delete and move only where the blob path starts with the job's
# writable prefix. Self-contained on purpose: tests/infra renders this block with Terraform itself.
locals {
  writable_prefixes = merge(
    { merge = [local.results_key_prefix] },
    var.source_url == null ? {} : { export = [local.input_prefixes.allocations] },
  )
  blob_path      = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
  blob_write_ops = ["blobs/write", "blobs/add/action", "blobs/delete", "blobs/move/action"]
  write_conditions = { for job, prefixes in local.writable_prefixes : job => join("\n", [
    "(",
    " (",
    join("\n  AND\n", [for op in local.blob_write_ops : "  !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/${op}'})"]),
    " )",
    " OR",
    " (",
    join("\n  OR\n", [for prefix in prefixes : "  ${local.blob_path} StringStartsWith '${prefix}'"]),
    " )",
    ")",
  ]) }
}

resource "azurerm_role_assignment" "container_write" {
  for_each             = local.write_conditions
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.function[each.key].principal_id
  principal_type       = "ServicePrincipal"
  condition_version    = "2.0"
  condition            = each.value
}

resource "azurerm_role_assignment" "container_read" {
  scope                = local.container_scope
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.function["metrics"].principal_id
  principal_type       = "ServicePrincipal"
}

# The Functions hosts keep timer locks and the deployment packages in their own account (not the data account).
resource "azurerm_role_assignment" "host_blobs" {
  for_each             = local.apps
  scope                = azurerm_storage_account.host.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.function[each.key].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "telemetry" {
  for_each             = local.apps
  scope                = azurerm_application_insights.kubebill.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.function[each.key].principal_id
  principal_type       = "ServicePrincipal"
}
