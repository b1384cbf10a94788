# Athena over the results: a Glue table with partition projection (no crawler, no MSCK REPAIR) and a workgroup.
locals {
  # The RESULT schema of kubebill.schema, in order (tests/infra checks it against the code).
  result_columns = [
    { name = "ChargePeriodStart", type = "timestamp" },
    { name = "ChargePeriodEnd", type = "timestamp" },
    { name = "BillingPeriodStart", type = "timestamp" },
    { name = "BillingAccountId", type = "string" },
    { name = "SubAccountId", type = "string" },
    { name = "ProviderName", type = "string" },
    { name = "ServiceName", type = "string" },
    { name = "ServiceCategory", type = "string" },
    { name = "ResourceId", type = "string" },
    { name = "ResourceName", type = "string" },
    { name = "ResourceType", type = "string" },
    { name = "RegionId", type = "string" },
    { name = "SkuId", type = "string" },
    { name = "ChargeCategory", type = "string" },
    { name = "ChargeDescription", type = "string" },
    { name = "PricingCategory", type = "string" },
    { name = "CommitmentDiscountId", type = "string" },
    { name = "CommitmentDiscountType", type = "string" },
    { name = "BillingCurrency", type = "string" },
    { name = "BilledCost", type = "double" },
    { name = "EffectiveCost", type = "double" },
    { name = "ListCost", type = "double" },
    { name = "ContractedCost", type = "double" },
    { name = "ConsumedQuantity", type = "double" },
    { name = "ConsumedUnit", type = "string" },
    { name = "Tags", type = "string" },
    { name = "AllocatedMethodId", type = "string" },
    { name = "AllocatedMethodDetails", type = "string" },
    { name = "AllocatedResourceId", type = "string" },
    { name = "AllocatedResourceName", type = "string" },
    { name = "AllocatedTags", type = "string" },
    { name = "x_K8sCluster", type = "string" },
    { name = "x_K8sNode", type = "string" },
    { name = "x_K8sNamespace", type = "string" },
    { name = "x_K8sControllerKind", type = "string" },
    { name = "x_K8sController", type = "string" },
    { name = "x_K8sPod", type = "string" },
    { name = "x_K8sContainer", type = "string" },
    { name = "x_K8sLabels", type = "string" },
    { name = "x_K8sAllocation", type = "string" },
    { name = "x_K8sCostComponent", type = "string" },
    { name = "x_K8sCpuRatio", type = "double" },
    { name = "x_K8sRamRatio", type = "double" },
    { name = "x_K8sGpuRatio", type = "double" },
    { name = "x_SourceKey", type = "string" },
    { name = "x_SourceRowId", type = "bigint" },
  ]
  results_parquet = "s3://${local.bucket}/${local.results_key_prefix}parquet"
  glue_database   = replace(var.name, "-", "_")
}

resource "aws_glue_catalog_database" "kubebill" {
  name        = local.glue_database
  description = "kubebill results (FOCUS-shaped, split to Kubernetes workloads)"
}

resource "aws_glue_catalog_table" "results" {
  name          = "results"
  database_name = aws_glue_catalog_database.kubebill.name
  table_type    = "EXTERNAL_TABLE"
  description   = "One Parquet file per UTC day under ${local.results_parquet}/year=/month=/day="

  parameters = {
    EXTERNAL                    = "TRUE"
    classification              = "parquet"
    "projection.enabled"        = "true"
    "projection.year.type"      = "integer"
    "projection.year.range"     = "2020,2099"
    "projection.year.digits"    = "4"
    "projection.month.type"     = "integer"
    "projection.month.range"    = "1,12"
    "projection.month.digits"   = "2"
    "projection.day.type"       = "integer"
    "projection.day.range"      = "1,31"
    "projection.day.digits"     = "2"
    "storage.location.template" = "${local.results_parquet}/year=$${year}/month=$${month}/day=$${day}"
    "has_encrypted_data"        = var.kms_key_arn == null ? "false" : "true"
  }

  partition_keys {
    name = "year"
    type = "string"
  }
  partition_keys {
    name = "month"
    type = "string"
  }
  partition_keys {
    name = "day"
    type = "string"
  }

  storage_descriptor {
    location      = "${local.results_parquet}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = local.result_columns
      content {
        name = lower(columns.value.name)
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "kubebill" {
  name          = var.name
  description   = "Queries over kubebill results; query results under s3://${local.bucket}/${local.results_key_prefix}_athena/"
  force_destroy = true
  tags          = var.tags

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${local.bucket}/${local.results_key_prefix}_athena/"

      encryption_configuration {
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
