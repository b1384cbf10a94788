# Blob created under allocations/ or billing/ -> Event Grid -> merge_blob (an Event Grid trigger).
# One subscription per input prefix, filtered by subject; results/ never fires a merge (DESIGN 3.3).
resource "azurerm_eventgrid_system_topic" "data" {
  name                = "${var.name}-${local.suffix}-blobs"
  resource_group_name = var.resource_group_name
  location            = var.location
  source_resource_id  = azurerm_storage_account.data.id
  topic_type          = "Microsoft.Storage.StorageAccounts"
  tags                = var.tags

  identity {
    type = "SystemAssigned"
  }
}

# Event Grid writes undeliverable events into the dead-letter container with its own identity.
resource "azurerm_role_assignment" "dead_letters" {
  scope                = "${azurerm_storage_account.data.id}/blobServices/default/containers/${azurerm_storage_container.dead_letters.name}"
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_system_topic.data.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "merge" {
  for_each            = local.input_prefixes
  name                = "${var.name}-merge-${each.key}"
  system_topic        = azurerm_eventgrid_system_topic.data.name
  resource_group_name = var.resource_group_name

  event_delivery_schema = "EventGridSchema"
  included_event_types  = ["Microsoft.Storage.BlobCreated"]

  subject_filter {
    subject_begins_with = "/blobServices/default/containers/${azurerm_storage_container.store.name}/blobs/${each.value}"
  }

  azure_function_endpoint {
    function_id                       = "${azurerm_function_app_flex_consumption.kubebill["merge"].id}/functions/merge_blob"
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.data.id
    storage_blob_container_name = azurerm_storage_container.dead_letters.name
  }

  depends_on = [terraform_data.deploy, azurerm_role_assignment.dead_letters]
}
