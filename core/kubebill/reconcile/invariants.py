"""The merge's invariants (DESIGN 4), checked in SQL over the rows about to be written.

- per origin bill line and cost column: Σ of its output rows = the line's value (relative 1e-9), and
  Σ AllocatedRatio = 1;
- per day, currency and cost column: Σ output (estimates left out) = Σ input lines.

Works on the engine's relations `bill_lines` (the day's lines, `lid`), `allocated_rows` (one row per split of a
line: `lid`, `ratio`, `BillingCurrency` and the scaled cost columns, the very values the writers put out;
estimates are not bill lines and are kept apart) and `passed_lines` (the lines passed through whole before the
split, with their costs: each is its own one row, and must have no row in `allocated_rows`).
A violation raises InvariantViolation naming the line (x_SourceKey + row) and the column.
"""

from __future__ import annotations

from typing import Any

import duckdb

from kubebill.errors import InvariantViolation
from kubebill.schema import COST_COLUMNS

RELATIVE = 1e-9
ABSOLUTE = 1e-12  # below this a difference is float noise on a zero line


def _close(column: str, expected: str, scale: str) -> str:
    return f"abs(coalesce({column}, 0) - coalesce({expected}, 0)) <= {RELATIVE} * {scale} + {ABSOLUTE}"


def check(con: duckdb.DuckDBPyConnection) -> None:
    """Raise InvariantViolation on the first broken line or day total; nothing when all hold."""
    _check_lines(con)
    _check_day(con)


def _check_lines(con: duckdb.DuckDBPyConnection) -> None:
    sums = ", ".join(f"sum(o.{c}) AS s_{c}" for c in COST_COLUMNS)
    broken = " OR ".join(f"NOT ({_close(f's.s_{c}', f'l.{c}', f'abs(coalesce(l.{c}, 0))')})" for c in COST_COLUMNS)
    per_line = f"SELECT o.lid, count(*) AS n, sum(o.ratio) AS ratio, {sums} FROM allocated_rows o GROUP BY o.lid"
    # the broken line found by its id and costs alone, its names read only when there is one (1M lines: the
    # names' strings read for every line were ~0.1 of the check's 0.5 s)
    first = con.execute(
        f"""WITH s AS ({per_line})
        SELECT l.lid FROM bill_lines l LEFT JOIN s ON s.lid = l.lid LEFT JOIN passed_lines p ON p.lid = l.lid
        WHERE CASE WHEN p.lid IS NOT NULL THEN s.n IS NOT NULL
                   ELSE s.n IS NULL OR abs(s.ratio - 1) > {RELATIVE} OR {broken} END
        LIMIT 1"""
    ).fetchall()
    if not first:
        return
    lid = int(first[0][0])  # written in: the Spark runner's queries bind no parameter
    row = con.execute(
        f"""WITH s AS ({per_line} HAVING o.lid = {lid})
        SELECT l.x_SourceKey, l.x_SourceRowId, l.ResourceId, l.lid, s.n, s.ratio,
               {", ".join(f"l.{c}, s.s_{c}" for c in COST_COLUMNS)},
               EXISTS (SELECT 1 FROM passed_lines p WHERE p.lid = {lid}) AS passed
        FROM bill_lines l LEFT JOIN s ON s.lid = l.lid
        WHERE l.lid = {lid}"""
    ).fetchall()[0]
    where = _line_name(row)
    if row[-1]:
        raise InvariantViolation(f"{where}: passed through whole as not_kubernetes, and split into {row[4]} rows too")
    if row[4] is None:
        raise InvariantViolation(f"{where}: the merge produced no row for this bill line")
    if abs(row[5] - 1) > RELATIVE:
        raise InvariantViolation(f"{where}: AllocatedRatio of its {row[4]} rows sums to {row[5]!r}, expected 1")
    for i, column in enumerate(COST_COLUMNS):
        line, total = row[6 + 2 * i], row[7 + 2 * i]
        raise_if_off(where, column, line, total, f"its {row[4]} rows")
    raise InvariantViolation(f"{where}: its {row[4]} rows carry a cost that is not a finite number")


def raise_if_off(where: str, column: str, expected: Any, found: Any, what: str) -> None:
    expected_f = float(expected or 0.0)
    found_f = float(found or 0.0)
    if not abs(found_f - expected_f) <= RELATIVE * abs(expected_f) + ABSOLUTE:  # NaN compares false: a violation
        raise InvariantViolation(f"{where}: Σ {column} of {what} is {found_f!r}, expected {expected_f!r}")


def _line_name(row: tuple[Any, ...]) -> str:
    key, row_id, resource, lid = row[0], row[1], row[2], row[3]
    if key is not None:
        return f"bill line {key} row {row_id}" + (f" ({resource})" if resource else "")
    return f"bill line #{lid}" + (f" ({resource})" if resource else "")


def _check_day(con: duckdb.DuckDBPyConnection) -> None:
    inputs = ", ".join(f"sum({c}) AS {c}, sum(abs({c})) AS a_{c}" for c in COST_COLUMNS)
    outputs = ", ".join(f"sum({c}) AS {c}" for c in COST_COLUMNS)
    rows = con.execute(
        f"""
        WITH i AS (SELECT coalesce(BillingCurrency, '') AS cur, {inputs} FROM bill_lines GROUP BY cur),
             o AS (SELECT coalesce(BillingCurrency, '') AS cur, {outputs}
                   FROM (SELECT BillingCurrency, {", ".join(COST_COLUMNS)} FROM allocated_rows
                         UNION ALL
                         SELECT BillingCurrency, {", ".join(COST_COLUMNS)} FROM passed_lines)
                   GROUP BY cur)
        SELECT coalesce(i.cur, o.cur), {", ".join(f"i.{c}, o.{c}, i.a_{c}" for c in COST_COLUMNS)}
        FROM i FULL JOIN o ON i.cur = o.cur"""
    ).fetchall()
    for row in rows:
        currency = row[0] or "(no currency)"
        for i, column in enumerate(COST_COLUMNS):
            expected, found, scale = row[1 + 3 * i], row[2 + 3 * i], row[3 + 3 * i]
            if not abs(float(found or 0) - float(expected or 0)) <= RELATIVE * float(scale or 0) + ABSOLUTE:
                raise InvariantViolation(
                    f"day total in {currency}: Σ {column} of the result is {found!r}, "
                    f"the bill lines sum to {expected!r}"
                )
