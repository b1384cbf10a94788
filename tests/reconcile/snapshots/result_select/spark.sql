SELECT
  CAST(l.ChargePeriodStart AS TIMESTAMP) AS ChargePeriodStart,
  CAST(l.ChargePeriodEnd AS TIMESTAMP) AS ChargePeriodEnd,
  CAST(l.BillingPeriodStart AS TIMESTAMP) AS BillingPeriodStart,
  CAST(l.BillingAccountId AS STRING) AS BillingAccountId,
  CAST(l.SubAccountId AS STRING) AS SubAccountId,
  CAST(l.ProviderName AS STRING) AS ProviderName,
  CAST(l.ServiceName AS STRING) AS ServiceName,
  CAST(l.ServiceCategory AS STRING) AS ServiceCategory,
  CAST(l.ResourceId AS STRING) AS ResourceId,
  CAST(l.ResourceName AS STRING) AS ResourceName,
  CAST(l.ResourceType AS STRING) AS ResourceType,
  CAST(l.RegionId AS STRING) AS RegionId,
  CAST(l.SkuId AS STRING) AS SkuId,
  CAST(l.ChargeCategory AS STRING) AS ChargeCategory,
  CAST(l.ChargeDescription AS STRING) AS ChargeDescription,
  CAST(l.PricingCategory AS STRING) AS PricingCategory,
  CAST(l.CommitmentDiscountId AS STRING) AS CommitmentDiscountId,
  CAST(l.CommitmentDiscountType AS STRING) AS CommitmentDiscountType,
  CAST(l.BillingCurrency AS STRING) AS BillingCurrency,
  CAST(r.BilledCost AS DOUBLE) AS BilledCost,
  CAST(r.EffectiveCost AS DOUBLE) AS EffectiveCost,
  CAST(r.ListCost AS DOUBLE) AS ListCost,
  CAST(r.ContractedCost AS DOUBLE) AS ContractedCost,
  CAST(r.ConsumedQuantity AS DOUBLE) AS ConsumedQuantity,
  CAST(l.ConsumedUnit AS STRING) AS ConsumedUnit,
  CAST(l.Tags AS STRING) AS Tags,
  CAST(t.method AS STRING) AS AllocatedMethodId,
  CAST(CASE
    WHEN NOT r.method IS NULL
    THEN '{"Elements":[{"AllocatedRatio":' || CAST(r.ratio AS STRING) || COALESCE(',"UsageUnit":"' || r.unit || '","UsageQuantity":' || CAST(r.qty AS STRING), '') || '}]' || CASE WHEN r.neg_idle THEN ',"x_AllocatedExceedsNode":true' ELSE '' END || COALESCE(',' || r.moved, '') || '}'
  END AS STRING) AS AllocatedMethodDetails,
  CAST(CASE
    WHEN t.kind <> 'not_kubernetes'
    THEN CONCAT_WS('/', t.cluster, t.namespace, t.pod, t.container)
  END AS STRING) AS AllocatedResourceId,
  CAST(COALESCE(t.container, t.pod, t.namespace, t.cluster) AS STRING) AS AllocatedResourceName,
  CAST(t.labels AS STRING) AS AllocatedTags,
  CAST(t.cluster AS STRING) AS x_K8sCluster,
  CAST(t.node AS STRING) AS x_K8sNode,
  CAST(t.namespace AS STRING) AS x_K8sNamespace,
  CAST(t.controller_kind AS STRING) AS x_K8sControllerKind,
  CAST(t.controller AS STRING) AS x_K8sController,
  CAST(t.pod AS STRING) AS x_K8sPod,
  CAST(t.container AS STRING) AS x_K8sContainer,
  CAST(t.labels AS STRING) AS x_K8sLabels,
  CAST(t.kind AS STRING) AS x_K8sAllocation,
  CAST(CASE
    WHEN r.comp = 'compute'
    AND (
      l.ServiceCategory = 'Networking'
      OR LOWER(l.ChargeDescription) LIKE '%data transfer%'
      OR LOWER(l.ServiceName) LIKE '%bandwidth%'
    )
    THEN 'network'
    ELSE r.comp
  END AS STRING) AS x_K8sCostComponent,
  CAST(r.cpu_ratio AS DOUBLE) AS x_K8sCpuRatio,
  CAST(r.ram_ratio AS DOUBLE) AS x_K8sRamRatio,
  CAST(r.gpu_ratio AS DOUBLE) AS x_K8sGpuRatio,
  CAST(l.x_SourceKey AS STRING) AS x_SourceKey,
  CAST(l.x_SourceRowId AS BIGINT) AS x_SourceRowId
FROM allocated_rows AS r
JOIN bill_lines AS l
  ON l.lid = r.lid
JOIN allocated_targets AS t
  ON t.tno = r.tno
WHERE
  r.kind <> 'not_kubernetes'
UNION ALL
SELECT
  CAST(l.ChargePeriodStart AS TIMESTAMP) AS ChargePeriodStart,
  CAST(l.ChargePeriodEnd AS TIMESTAMP) AS ChargePeriodEnd,
  CAST(l.BillingPeriodStart AS TIMESTAMP) AS BillingPeriodStart,
  CAST(l.BillingAccountId AS STRING) AS BillingAccountId,
  CAST(l.SubAccountId AS STRING) AS SubAccountId,
  CAST(l.ProviderName AS STRING) AS ProviderName,
  CAST(l.ServiceName AS STRING) AS ServiceName,
  CAST(l.ServiceCategory AS STRING) AS ServiceCategory,
  CAST(l.ResourceId AS STRING) AS ResourceId,
  CAST(l.ResourceName AS STRING) AS ResourceName,
  CAST(l.ResourceType AS STRING) AS ResourceType,
  CAST(l.RegionId AS STRING) AS RegionId,
  CAST(l.SkuId AS STRING) AS SkuId,
  CAST(l.ChargeCategory AS STRING) AS ChargeCategory,
  CAST(l.ChargeDescription AS STRING) AS ChargeDescription,
  CAST(l.PricingCategory AS STRING) AS PricingCategory,
  CAST(l.CommitmentDiscountId AS STRING) AS CommitmentDiscountId,
  CAST(l.CommitmentDiscountType AS STRING) AS CommitmentDiscountType,
  CAST(l.BillingCurrency AS STRING) AS BillingCurrency,
  CAST(l.BilledCost AS DOUBLE) AS BilledCost,
  CAST(l.EffectiveCost AS DOUBLE) AS EffectiveCost,
  CAST(l.ListCost AS DOUBLE) AS ListCost,
  CAST(l.ContractedCost AS DOUBLE) AS ContractedCost,
  CAST(l.ConsumedQuantity AS DOUBLE) AS ConsumedQuantity,
  CAST(l.ConsumedUnit AS STRING) AS ConsumedUnit,
  CAST(l.Tags AS STRING) AS Tags,
  CAST(NULL AS STRING) AS AllocatedMethodId,
  CAST(CASE
    WHEN NOT NULL IS NULL
    THEN '{"Elements":[{"AllocatedRatio":' || CAST(1.0 AS STRING) || COALESCE(',"UsageUnit":"' || NULL || '","UsageQuantity":' || CAST(NULL AS STRING), '') || '}]' || CASE WHEN FALSE THEN ',"x_AllocatedExceedsNode":true' ELSE '' END || COALESCE(',' || NULL, '') || '}'
  END AS STRING) AS AllocatedMethodDetails,
  CAST(CASE
    WHEN 'not_kubernetes' <> 'not_kubernetes'
    THEN CONCAT_WS('/', NULL, NULL, NULL, NULL)
  END AS STRING) AS AllocatedResourceId,
  CAST(COALESCE(NULL, NULL, NULL, NULL) AS STRING) AS AllocatedResourceName,
  CAST(NULL AS STRING) AS AllocatedTags,
  CAST(NULL AS STRING) AS x_K8sCluster,
  CAST(NULL AS STRING) AS x_K8sNode,
  CAST(NULL AS STRING) AS x_K8sNamespace,
  CAST(NULL AS STRING) AS x_K8sControllerKind,
  CAST(NULL AS STRING) AS x_K8sController,
  CAST(NULL AS STRING) AS x_K8sPod,
  CAST(NULL AS STRING) AS x_K8sContainer,
  CAST(NULL AS STRING) AS x_K8sLabels,
  CAST('not_kubernetes' AS STRING) AS x_K8sAllocation,
  CAST(CASE
    WHEN 'other' = 'compute'
    AND (
      l.ServiceCategory = 'Networking'
      OR LOWER(l.ChargeDescription) LIKE '%data transfer%'
      OR LOWER(l.ServiceName) LIKE '%bandwidth%'
    )
    THEN 'network'
    ELSE 'other'
  END AS STRING) AS x_K8sCostComponent,
  CAST(NULL AS DOUBLE) AS x_K8sCpuRatio,
  CAST(NULL AS DOUBLE) AS x_K8sRamRatio,
  CAST(NULL AS DOUBLE) AS x_K8sGpuRatio,
  CAST(l.x_SourceKey AS STRING) AS x_SourceKey,
  CAST(l.x_SourceRowId AS BIGINT) AS x_SourceRowId
FROM bill_lines AS l
WHERE
  l.lid IN (
    SELECT
      lid
    FROM passed
  )
UNION ALL
SELECT
  CAST(e.ws AS TIMESTAMP) AS ChargePeriodStart,
  CAST(e.we AS TIMESTAMP) AS ChargePeriodEnd,
  CAST(NULL AS TIMESTAMP) AS BillingPeriodStart,
  CAST(NULL AS STRING) AS BillingAccountId,
  CAST(NULL AS STRING) AS SubAccountId,
  CAST(NULL AS STRING) AS ProviderName,
  CAST(NULL AS STRING) AS ServiceName,
  CAST(CASE e.comp
    WHEN 'compute'
    THEN 'Compute'
    WHEN 'pv'
    THEN 'Storage'
    WHEN 'load_balancer'
    THEN 'Networking'
    WHEN 'network'
    THEN 'Networking'
  END AS STRING) AS ServiceCategory,
  CAST(e.skey AS STRING) AS ResourceId,
  CAST(NULL AS STRING) AS ResourceName,
  CAST(NULL AS STRING) AS ResourceType,
  CAST(NULL AS STRING) AS RegionId,
  CAST(NULL AS STRING) AS SkuId,
  CAST('Usage' AS STRING) AS ChargeCategory,
  CAST('estimated at list price: no bill line covers this allocation yet' AS STRING) AS ChargeDescription,
  CAST(NULL AS STRING) AS PricingCategory,
  CAST(NULL AS STRING) AS CommitmentDiscountId,
  CAST(NULL AS STRING) AS CommitmentDiscountType,
  CAST('USD' AS STRING) AS BillingCurrency,
  CAST(0.0 AS DOUBLE) AS BilledCost,
  CAST(0.0 AS DOUBLE) AS EffectiveCost,
  CAST(e.list_cost AS DOUBLE) AS ListCost,
  CAST(e.list_cost AS DOUBLE) AS ContractedCost,
  CAST(NULL AS DOUBLE) AS ConsumedQuantity,
  CAST(NULL AS STRING) AS ConsumedUnit,
  CAST(NULL AS STRING) AS Tags,
  CAST('opencost-list-cost' AS STRING) AS AllocatedMethodId,
  CAST(NULL AS STRING) AS AllocatedMethodDetails,
  CAST(CONCAT_WS('/', e.cluster, e.namespace, e.pod, e.container) AS STRING) AS AllocatedResourceId,
  CAST(COALESCE(e.container, e.pod, e.namespace, e.cluster) AS STRING) AS AllocatedResourceName,
  CAST(e.labels AS STRING) AS AllocatedTags,
  CAST(e.cluster AS STRING) AS x_K8sCluster,
  CAST(e.node AS STRING) AS x_K8sNode,
  CAST(e.namespace AS STRING) AS x_K8sNamespace,
  CAST(e.controller_kind AS STRING) AS x_K8sControllerKind,
  CAST(e.controller AS STRING) AS x_K8sController,
  CAST(e.pod AS STRING) AS x_K8sPod,
  CAST(e.container AS STRING) AS x_K8sContainer,
  CAST(e.labels AS STRING) AS x_K8sLabels,
  CAST('estimated' AS STRING) AS x_K8sAllocation,
  CAST(e.comp AS STRING) AS x_K8sCostComponent,
  CAST(NULL AS DOUBLE) AS x_K8sCpuRatio,
  CAST(NULL AS DOUBLE) AS x_K8sRamRatio,
  CAST(NULL AS DOUBLE) AS x_K8sGpuRatio,
  CAST(e.source_key AS STRING) AS x_SourceKey,
  CAST(NULL AS BIGINT) AS x_SourceRowId
FROM estimates AS e
