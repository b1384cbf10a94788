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


# Each split line's row count and sums.
_PER_LINE = (
    "SELECT o.lid, count(*) AS n, sum(o.ratio) AS ratio, "
    + ", ".join(f"sum(o.{c}) AS s_{c}" for c in COST_COLUMNS)
    + " FROM allocated_rows o GROUP BY o.lid"
)


def _first_broken(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of a line whose rows break an invariant, else None.

    Found by the split lines' sums against their lines, the passed lines that have split rows too, and counts: every
    line is split or passed, never both, so the day's lines = its split lines + its passed lines. Only when the
    counts differ are the lines searched, to name the one that breaks them (1M lines: ~0.2 s, where joining every
    line to its sums and to the 750k passed lines took 0.24-0.27 s). Only the distinct passed lines that are lines
    of the day are counted, so neither a line passed twice nor a passed line of no bill line can stand for a line
    lost."""
    broken = " OR ".join(f"NOT ({_close(f's.s_{c}', f'l.{c}', f'abs(coalesce(l.{c}, 0))')})" for c in COST_COLUMNS)
    split, first = con.execute(
        f"""WITH s AS ({_PER_LINE})
        SELECT count(*), min(CASE WHEN l.lid IS NULL OR abs(s.ratio - 1) > {RELATIVE} OR {broken} THEN s.lid END)
        FROM s LEFT JOIN bill_lines l ON l.lid = s.lid"""
    ).fetchall()[0]
    if first is not None:
        return int(first)
    # one join or aggregate of the day's lines per statement: joined in one statement, their hash tables were
    # held at once, and a 10M-line day ran out of DuckDB's 572 MiB share of a 1 GB limit
    both = con.execute(
        "SELECT min(p.lid) FROM passed_lines p WHERE p.lid IN (SELECT lid FROM allocated_rows)"
    ).fetchall()[0][0]
    if both is not None:
        return int(both)
    # each passed line's count of rows, joined to its bill line: a line passed twice, or one of no bill line
    known, twice, stray = con.execute(
        """SELECT count(l.lid), min(CASE WHEN g.n > 1 THEN g.lid END), min(CASE WHEN l.lid IS NULL THEN g.lid END)
        FROM (SELECT lid, count(*) AS n FROM passed_lines GROUP BY lid) g LEFT JOIN bill_lines l ON l.lid = g.lid"""
    ).fetchall()[0]
    lines = con.execute("SELECT count(*) FROM bill_lines").fetchall()[0][0]
    if twice is not None or stray is not None:
        found = twice if twice is not None else stray
    elif lines != split + known:  # a line neither split nor passed
        found = con.execute(
            """SELECT min(l.lid) FROM bill_lines l
            WHERE l.lid NOT IN (SELECT lid FROM allocated_rows UNION ALL SELECT lid FROM passed_lines)"""
        ).fetchall()[0][0]
    else:
        return None
    if found is None:  # the counts differ: some line is there to name
        raise InvariantViolation(f"the day's {lines} lines are not its {split} split and {known} passed lines")
    return int(found)


def _check_lines(con: duckdb.DuckDBPyConnection) -> None:
    found = _first_broken(con)
    if found is None:
        return
    lid = int(found)  # written in: the Spark runner's queries bind no parameter
    row = con.execute(
        f"""WITH s AS ({_PER_LINE} HAVING o.lid = {lid})
        SELECT l.x_SourceKey, l.x_SourceRowId, l.ResourceId, k.lid, s.n, s.ratio,
               {", ".join(f"l.{c}, s.s_{c}" for c in COST_COLUMNS)},
               l.lid IS NOT NULL AS known, (SELECT count(*) FROM passed_lines p WHERE p.lid = {lid}) AS passed
        FROM (SELECT {lid} AS lid) k LEFT JOIN bill_lines l ON l.lid = k.lid LEFT JOIN s ON s.lid = k.lid"""
    ).fetchall()[0]
    where, known, passed = _line_name(row), row[-2], row[-1]
    if not known and passed:
        raise InvariantViolation(f"{where}: passed through whole as not_kubernetes, but it is no bill line of the day")
    if not known:
        raise InvariantViolation(f"{where}: {row[4]} rows were split from no bill line of the day")
    if passed > 1:
        raise InvariantViolation(f"{where}: passed through whole as not_kubernetes {passed} times")
    if passed and row[4] is not None:
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
