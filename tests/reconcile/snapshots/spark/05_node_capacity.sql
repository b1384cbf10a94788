/* DESIGN §4 Node lines, AWS split-cost method: each node's CPU and RAM units per step (its capacity), which the */
/* 9:1 weights divide by; empty under any other method. */
SELECT
  skey,
  ws,
  SUM(cpu_units) AS cap_cpu,
  SUM(ram_units) AS cap_ram
FROM node_rows
WHERE
  :method = 'aws-split-cost'
GROUP BY
  skey,
  ws
