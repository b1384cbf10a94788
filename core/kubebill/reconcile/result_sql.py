"""The day's RESULT rows as one portable SELECT (DuckDB dialect) over the stages' relations, for an engine that widens
them where they are (Spark: reconcile.spark_rows) instead of a chunk of lines at a time on one machine.

The column expressions are reconcile.rows' own (`rows.result_columns`): both writers give the same rows. Two parts,
UNION ALL, in RESULT column order and types:

- every bill line: `bill_lines l` LEFT JOIN its split rows `allocated_rows r` on `lid`, the target's columns
  LEFT JOINed from `allocated_targets t` by `tno` (rows.Rows takes them by number in Arrow instead); a line with
  no split row is passed through whole, as it came (`rows.either`);
- the `estimates e`, widened alone.

`relation(name)` names each relation read (e.g. a day-qualified view); it is put into the text as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from kubebill.reconcile import rows
from kubebill.schema import RESULT

# The relations the SELECT reads.
READS = ("allocated_rows", "bill_lines", "allocated_targets", "estimates")


def result_select(*, estimate_currency: str, relation: Callable[[str], str] = lambda n: n) -> str:
    """The day's RESULT rows, unsorted: one SELECT in RESULT column order and types (see the module)."""

    def select_list(exprs: dict[str, str]) -> str:
        return ",\n       ".join(rows._columns(exprs, [name]) for name in RESULT.names)

    split, passed, estimated = rows.result_columns(estimate_currency=estimate_currency)
    split |= rows._from({c: split[c] for c in rows._OF_TARGET}, lambda c: f"t.{c}")
    names = {name: relation(name) for name in READS}
    return (
        f"SELECT {select_list(rows.either(split, passed))}"
        f"\nFROM {names['bill_lines']} l"
        f"\nLEFT JOIN (SELECT * FROM {names['allocated_rows']} WHERE kind <> 'not_kubernetes') r ON r.lid = l.lid"
        f"\nLEFT JOIN {names['allocated_targets']} t ON t.tno = r.tno"
        f"\nUNION ALL\nSELECT {select_list(estimated)}"
        f"\nFROM {names['estimates']} e\n"
    )
