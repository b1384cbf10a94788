# The one bucket: inputs under allocations/ and billing/, everything kubebill writes under results/.
resource "aws_s3_bucket" "store" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; results are rebuilt from the inputs and the inputs are re-exportable
  #checkov:skip=CKV_AWS_145:SSE-S3 by default so the billing export service can write without a KMS key policy; set kms_key_arn for SSE-KMS
  #checkov:skip=CKV_AWS_18:Server access logging is optional (access_log_bucket); CloudTrail data events are the audit trail of choice
  #checkov:skip=CKV2_AWS_62:Event notifications are configured in aws_s3_bucket_notification.merge
  bucket = local.bucket
  tags   = var.tags
}

resource "aws_s3_bucket_ownership_controls" "store" {
  bucket = aws_s3_bucket.store.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "store" {
  bucket                  = aws_s3_bucket.store.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "store" {
  bucket = aws_s3_bucket.store.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "store" {
  bucket = aws_s3_bucket.store.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_logging" "store" {
  count         = var.access_log_bucket == null ? 0 : 1
  bucket        = aws_s3_bucket.store.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${local.bucket}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "store" {
  bucket = aws_s3_bucket.store.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  # Merge bookkeeping is rewritten on every merge: its old versions are worthless after a day.
  rule {
    id     = "expire-state-versions"
    status = "Enabled"
    filter {
      prefix = "${local.results_key_prefix}_state/"
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.store]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.store.arn, "${aws_s3_bucket.store.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # CUR 2.0 (BCM Data Exports) delivers with both service principals; scoped to this account's exports.
  statement {
    sid     = "BillingExportsWrite"
    effect  = "Allow"
    actions = ["s3:PutObject", "s3:GetBucketPolicy"]
    resources = [
      aws_s3_bucket.store.arn,
      "${aws_s3_bucket.store.arn}/${local.input_prefixes.billing}*",
    ]
    principals {
      type        = "Service"
      identifiers = ["bcm-data-exports.amazonaws.com", "billingreports.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:cur:us-east-1:${local.account_id}:definition/*",
        "arn:${local.partition}:bcm-data-exports:us-east-1:${local.account_id}:export/*",
      ]
    }
    condition {
      test     = "StringLike"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "store" {
  bucket     = aws_s3_bucket.store.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.store]
}
