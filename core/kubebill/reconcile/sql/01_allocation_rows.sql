-- DESIGN §4 Time: the allocation steps of the merge's UTC day [$day_start, $day_end), with the columns the rules read.
SELECT
  window_start AS ws, window_end AS we, cluster, node, provider_id, namespace, controller_kind, controller, pod,
  container, labels, source, minutes, cpu_core_hours, cpu_core_request_average, cpu_core_usage_average,
  ram_byte_hours, ram_byte_request_average, ram_byte_usage_average, cpu_cost, ram_cost, gpu_cost, pv_cost,
  network_cost, load_balancer_cost, total_cost, pvs, load_balancers, fraction, split_bucket
FROM allocation_in
WHERE window_start < $day_end AND window_end > $day_start AND window_end > window_start
