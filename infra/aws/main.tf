# kubebill on AWS: one S3 bucket, three Lambda functions each on its own least-privilege role, the triggers
# that drive them, the CUR 2.0 export into the bucket, and an Athena table over the results.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  bucket     = coalesce(var.bucket_name, "${var.name}-${local.account_id}-${local.region}")

  # Key prefixes exactly as kubebill.layout builds them (DESIGN 3.3): "<prefix>/".
  input_prefixes = {
    allocations = "${var.allocations_prefix}/"
    billing     = "${var.billing_prefix}/"
  }
  results_key_prefix = "${var.results_prefix}/"

  # Every variable is a kubebill.settings name (checked by tests/infra); null values are left unset.
  settings = {
    KUBEBILL_STORE              = "s3://${local.bucket}"
    KUBEBILL_ALLOCATIONS_PREFIX = var.allocations_prefix
    KUBEBILL_BILLING_PREFIX     = var.billing_prefix
    KUBEBILL_RESULTS_PREFIX     = var.results_prefix
    KUBEBILL_LOG_FORMAT         = "json"
    KUBEBILL_SOURCE             = var.source_kind
    KUBEBILL_SOURCE_URL         = var.source_url
    KUBEBILL_CLUSTER            = var.cluster
    KUBEBILL_RESTATE_DAYS       = tostring(var.restate_days)
    KUBEBILL_TENANT_ID          = var.tenant_id
    KUBEBILL_ENGINE             = var.engine == "spark" ? "spark" : null
  }
  environment = { for key, value in local.settings : key => value if value != null && value != "" }

  functions = {
    export = {
      handler = "handler.export_handler"
      memory  = var.memory_mb
      timeout = var.timeout_seconds
    }
    merge = {
      handler = "handler.merge_handler"
      memory  = var.memory_mb
      timeout = var.timeout_seconds
    }
    metrics = {
      handler = "handler.metrics_handler"
      memory  = 1024
      timeout = 30
    }
  }

  # DuckDB's limit follows each function's own memory so it spills instead of running out.
  function_environment = {
    for key, fn in local.functions : key => merge(local.environment, { KUBEBILL_MEMORY_LIMIT = "${floor(fn.memory * 0.7)}MB" })
  }
}
