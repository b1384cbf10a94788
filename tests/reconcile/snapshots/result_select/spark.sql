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
  CAST(CASE WHEN r.lid IS NULL THEN l.BilledCost ELSE r.BilledCost END AS DOUBLE) AS BilledCost,
  CAST(CASE WHEN r.lid IS NULL THEN l.EffectiveCost ELSE r.EffectiveCost END AS DOUBLE) AS EffectiveCost,
  CAST(CASE WHEN r.lid IS NULL THEN l.ListCost ELSE r.ListCost END AS DOUBLE) AS ListCost,
  CAST(CASE WHEN r.lid IS NULL THEN l.ContractedCost ELSE r.ContractedCost END AS DOUBLE) AS ContractedCost,
  CAST(CASE WHEN r.lid IS NULL THEN l.ConsumedQuantity ELSE r.ConsumedQuantity END AS DOUBLE) AS ConsumedQuantity,
  CAST(l.ConsumedUnit AS STRING) AS ConsumedUnit,
  CAST(l.Tags AS STRING) AS Tags,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.method END AS STRING) AS AllocatedMethodId,
  CAST(CASE
    WHEN r.lid IS NULL
    THEN CASE
      WHEN NOT NULL IS NULL
      THEN CONCAT(
        '{"Elements":[{"AllocatedRatio":',
        COALESCE(CAST(CAST(1.0 AS STRING) AS STRING), ''),
        COALESCE(
          CASE
            WHEN NOT NULL IS NULL AND NOT NULL IS NULL
            THEN CONCAT(
              ',"UsageUnit":"',
              COALESCE(NULL, ''),
              '","UsageQuantity":',
              COALESCE(CAST(CAST(NULL AS STRING) AS STRING), '')
            )
          END,
          ''
        ),
        '}]',
        COALESCE(CASE WHEN FALSE THEN ',"x_AllocatedExceedsNode":true' END, ''),
        COALESCE(',' || NULL, ''),
        '}'
      )
    END
    ELSE CASE
      WHEN NOT r.method IS NULL
      THEN CONCAT(
        '{"Elements":[{"AllocatedRatio":',
        COALESCE(CAST(CAST(r.ratio AS STRING) AS STRING), ''),
        COALESCE(
          CASE
            WHEN NOT r.unit IS NULL AND NOT r.qty IS NULL
            THEN CONCAT(
              ',"UsageUnit":"',
              COALESCE(r.unit, ''),
              '","UsageQuantity":',
              COALESCE(CAST(CAST(r.qty AS STRING) AS STRING), '')
            )
          END,
          ''
        ),
        '}]',
        COALESCE(CASE WHEN r.neg_idle THEN ',"x_AllocatedExceedsNode":true' END, ''),
        COALESCE(',' || r.moved, ''),
        '}'
      )
    END
  END AS STRING) AS AllocatedMethodDetails,
  CAST(CASE
    WHEN r.lid IS NULL
    THEN CASE
      WHEN 'not_kubernetes' <> 'not_kubernetes'
      THEN CONCAT_WS('/', NULL, NULL, NULL, NULL)
    END
    ELSE CASE
      WHEN t.kind <> 'not_kubernetes'
      THEN CONCAT_WS('/', t.cluster, t.namespace, t.pod, t.container)
    END
  END AS STRING) AS AllocatedResourceId,
  CAST(CASE
    WHEN r.lid IS NULL
    THEN COALESCE(NULL, NULL, NULL, NULL)
    ELSE COALESCE(t.container, t.pod, t.namespace, t.cluster)
  END AS STRING) AS AllocatedResourceName,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.labels END AS STRING) AS AllocatedTags,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.cluster END AS STRING) AS x_K8sCluster,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.node END AS STRING) AS x_K8sNode,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.namespace END AS STRING) AS x_K8sNamespace,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.controller_kind END AS STRING) AS x_K8sControllerKind,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.controller END AS STRING) AS x_K8sController,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.pod END AS STRING) AS x_K8sPod,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.container END AS STRING) AS x_K8sContainer,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE t.labels END AS STRING) AS x_K8sLabels,
  CAST(CASE WHEN r.lid IS NULL THEN 'not_kubernetes' ELSE t.kind END AS STRING) AS x_K8sAllocation,
  CAST(CASE
    WHEN r.lid IS NULL
    THEN CASE
      WHEN 'other' = 'compute'
      AND (
        l.ServiceCategory = 'Networking'
        OR LOWER(l.ChargeDescription) LIKE '%data transfer%'
        OR LOWER(l.ServiceName) LIKE '%bandwidth%'
      )
      THEN 'network'
      ELSE 'other'
    END
    ELSE CASE
      WHEN r.comp = 'compute'
      AND (
        l.ServiceCategory = 'Networking'
        OR LOWER(l.ChargeDescription) LIKE '%data transfer%'
        OR LOWER(l.ServiceName) LIKE '%bandwidth%'
      )
      THEN 'network'
      ELSE r.comp
    END
  END AS STRING) AS x_K8sCostComponent,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE r.cpu_ratio END AS DOUBLE) AS x_K8sCpuRatio,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE r.ram_ratio END AS DOUBLE) AS x_K8sRamRatio,
  CAST(CASE WHEN r.lid IS NULL THEN NULL ELSE r.gpu_ratio END AS DOUBLE) AS x_K8sGpuRatio,
  CAST(l.x_SourceKey AS STRING) AS x_SourceKey,
  CAST(l.x_SourceRowId AS BIGINT) AS x_SourceRowId
FROM bill_lines AS l
LEFT JOIN (
  SELECT
    *
  FROM allocated_rows
  WHERE
    kind <> 'not_kubernetes'
) AS r
  ON r.lid = l.lid
LEFT JOIN allocated_targets AS t
  ON t.tno = r.tno
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
