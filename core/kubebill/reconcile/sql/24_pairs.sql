-- DESIGN §4 Time: each matched line × the split rows of its key overlapping its charge period, with the
-- weights scaled by the overlap as a fraction of the row's step. Lines and steps meet in UTC hour buckets (an
-- equality the join can hash on); a pair is kept once, in the bucket its overlap starts in (a day-long line and
-- a day-long row meet in 24 buckets).
SELECT m.lid AS lid, s.oid AS oid, s.target AS target,
       s.wc * (least(s.we_s, m.ce) - greatest(s.ws_s, m.cs)) / (s.we_s - s.ws_s) AS wc,
       s.wr * (least(s.we_s, m.ce) - greatest(s.ws_s, m.cs)) / (s.we_s - s.ws_s) AS wr,
       s.wg * (least(s.we_s, m.ce) - greatest(s.ws_s, m.cs)) / (s.we_s - s.ws_s) AS wg,
       s.f * (least(s.we_s, m.ce) - greatest(s.ws_s, m.cs)) / (s.we_s - s.ws_s) AS f
FROM (SELECT lid, mkey, epoch(cps) AS cs, epoch(cpe) AS ce, CAST(floor(epoch(cps) / 3600) AS BIGINT) AS hb0,
             unnest(generate_series(CAST(floor(epoch(cps) / 3600) AS BIGINT),
                                    CAST(ceil(epoch(cpe) / 3600) AS BIGINT) - 1)) AS hb
      FROM line_matches) m
JOIN (SELECT skey, oid, target, ws_s, we_s, wc, wr, wg, f, CAST(floor(ws_s / 3600) AS BIGINT) AS hb0,
             unnest(generate_series(CAST(floor(ws_s / 3600) AS BIGINT), CAST(ceil(we_s / 3600) AS BIGINT) - 1)) AS hb
      FROM all_splits) s
  ON s.skey = m.mkey AND s.hb = m.hb
WHERE s.hb = greatest(m.hb0, s.hb0) AND least(s.we_s, m.ce) - greatest(s.ws_s, m.cs) > 0
