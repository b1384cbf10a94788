-- DESIGN §4 Node, volume, load-balancer lines: each matched line's weight per target (its pairs summed); a line
-- no split row overlaps goes whole to its key's rest target.
SELECT lid, target AS tid, sum(wc) AS wc, sum(wr) AS wr, sum(wg) AS wg, sum(f) AS f
FROM pairs
GROUP BY lid, target
UNION ALL
SELECT m.lid AS lid, r.tid AS tid, 0.0 AS wc, 0.0 AS wr, 0.0 AS wg, 1.0 AS f
FROM line_matches m JOIN rest_targets r ON r.skey = m.mkey
WHERE NOT EXISTS (SELECT 1 FROM pairs p WHERE p.lid = m.lid)
