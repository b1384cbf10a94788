"""CSV formula-injection neutralisation for every CSV kubebill writes (OWASP "CSV Injection").

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(``=HYPERLINK(…)``, ``+cmd|…``). Such a text cell gets a leading single quote, which spreadsheets show as text;
a cell that is a number (``-12.5``, ``+3``, ``-1e-05``) stays a number. Only the CSV is changed: the Parquet keeps
the exact values.
"""

from __future__ import annotations

import re

import pyarrow as pa

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def cell(value: object) -> object:
    """A value for csv.writer: text that a spreadsheet would run is quoted; anything else is returned as is."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.match(value):
        return "'" + value
    return value


def sql(column: str) -> str:
    """The same rule as a DuckDB expression over a VARCHAR column `column` (already quoted as an identifier)."""
    return (
        f"CASE WHEN left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"AND NOT regexp_full_match({column}, '{_NUMBER.pattern[1:-1]}') "
        f"THEN '''' || {column} ELSE {column} END"
    )


def select_list(schema: pa.Schema) -> str:
    """`SELECT` columns of `schema` with every text column neutralised and named as before."""
    out = []
    for field in schema:
        name = '"' + field.name.replace('"', '""') + '"'
        text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        out.append(f"{sql(name)} AS {name}" if text else name)
    return ", ".join(out)
