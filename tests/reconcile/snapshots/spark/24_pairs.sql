/* DESIGN §4 Time: each matched line × the split rows of its key overlapping its charge period, with the */
/* weights scaled by the overlap as a fraction of the row's step. Lines and steps meet in UTC hour buckets (an */
/* equality the join can hash on); a pair is kept once, in the bucket its overlap starts in (a day-long line and */
/* a day-long row meet in 24 buckets). */
SELECT
  m.lid AS lid,
  s.oid AS oid,
  s.target AS target,
  s.wc * (
    LEAST(s.we_s, m.ce) - GREATEST(s.ws_s, m.cs)
  ) / (
    s.we_s - s.ws_s
  ) AS wc,
  s.wr * (
    LEAST(s.we_s, m.ce) - GREATEST(s.ws_s, m.cs)
  ) / (
    s.we_s - s.ws_s
  ) AS wr,
  s.wg * (
    LEAST(s.we_s, m.ce) - GREATEST(s.ws_s, m.cs)
  ) / (
    s.we_s - s.ws_s
  ) AS wg,
  s.f * (
    LEAST(s.we_s, m.ce) - GREATEST(s.ws_s, m.cs)
  ) / (
    s.we_s - s.ws_s
  ) AS f
FROM (
  SELECT
    lid,
    mkey,
    UNIX_TIMESTAMP(cps) AS cs,
    UNIX_TIMESTAMP(cpe) AS ce,
    CAST(FLOOR(UNIX_TIMESTAMP(cps) / 3600) AS BIGINT) AS hb0,
    EXPLODE(
      SEQUENCE(
        CAST(FLOOR(UNIX_TIMESTAMP(cps) / 3600) AS BIGINT),
        CAST(CEIL(UNIX_TIMESTAMP(cpe) / 3600) AS BIGINT) - 1
      )
    ) AS hb
  FROM line_matches
) AS m
JOIN (
  SELECT
    skey,
    oid,
    target,
    ws_s,
    we_s,
    wc,
    wr,
    wg,
    f,
    CAST(FLOOR(ws_s / 3600) AS BIGINT) AS hb0,
    EXPLODE(
      SEQUENCE(CAST(FLOOR(ws_s / 3600) AS BIGINT), CAST(CEIL(we_s / 3600) AS BIGINT) - 1)
    ) AS hb
  FROM all_splits
) AS s
  ON s.skey = m.mkey AND s.hb = m.hb
WHERE
  s.hb = GREATEST(m.hb0, s.hb0)
  AND LEAST(s.we_s, m.ce) - GREATEST(s.ws_s, m.cs) > 0
