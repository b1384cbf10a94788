"""Reading and (in the merge) writing the consolidated results at the layout's keys: a Parquet object per day (the
result), and with KUBEBILL_RESULT_CSV a CSV object per day and one per month composed from them, each written
whole (a reader never sees half a day)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from kubebill.errors import InputError
from kubebill.layout import Kind, Layout, partition
from kubebill.schema import RESULT, conform
from kubebill.store.base import ObjectInfo, Store, copy_stream, read_upto


def result_objects(store: Store, layout: Layout) -> dict[date, ObjectInfo]:
    """Every day that has a result, with its object's metadata (etag = the day's version)."""
    found: dict[date, ObjectInfo] = {}
    for info in store.list(layout.results_parquet_root()):
        parsed = layout.parse(info.key)
        if parsed.kind is Kind.RESULT and parsed.day is not None:
            found[parsed.day] = info
    return dict(sorted(found.items()))


def csv_objects(store: Store, layout: Layout) -> tuple[dict[date, ObjectInfo], set[tuple[int, int]]]:
    """The CSVs there are (`KUBEBILL_RESULT_CSV=day|month`): each day's with its object's metadata, and the months
    that have a month CSV."""
    days: dict[date, ObjectInfo] = {}
    months: set[tuple[int, int]] = set()
    for info in store.list(f"{layout.results_prefix}/csv/"):
        found = partition(info.key) if info.key.endswith("/result.csv") else None
        if found is not None:
            year, month, day = found
            if day is None:
                months.add((year, month))
            else:
                days[day] = info
    return days, months


def compared_days(store: Store, layout: Layout) -> set[date]:
    """The days that have a cross-check (reconcile.compare) beside their result."""
    found = (
        partition(i.key) for i in store.list(f"{layout.results_prefix}/compare/") if i.key.endswith("/cloud.parquet")
    )
    return {f[2] for f in found if f is not None and f[2] is not None}


def available_days(store: Store, layout: Layout) -> list[date]:
    return list(result_objects(store, layout))


def read_day(store: Store, layout: Layout, day: date) -> pa.Table:
    """One day's result rows in the RESULT schema; FileNotFoundError if the day was never merged, InputError naming
    the object when it is not a readable Parquet file."""
    key = layout.result_parquet_key(day)
    body = store.read_bytes(key)
    with _readable(key):
        table = pq.read_table(io.BytesIO(body))
    return conform(table, RESULT)


@contextlib.contextmanager
def _readable(key: str) -> Iterator[None]:
    """A result object's bytes (read already: a store's outage is not this) that are not the Parquet a merge wrote
    (cut short, overwritten) raise InputError naming it and the way out, instead of Arrow's own error naming neither
    (ArrowInvalid, or an OSError for a footer that does not deserialise)."""
    try:
        yield
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"{key}: not a readable result ({str(exc).splitlines()[0][:200]}); the next `kubebill merge` writes it"
            " again from its inputs"
        ) from None


def day_batches(
    store: Store, layout: Layout, day: date, columns: Sequence[str], *, batch_rows: int = 8_192
) -> pa.RecordBatchReader:
    """One day's result rows, only `columns` (RESULT types), as a stream of batches: memory stays near one
    batch however large the day is (the metrics read 10,000 pods this way)."""
    key = layout.result_parquet_key(day)
    body = store.read_bytes(key)
    with _readable(key):
        parquet = pq.ParquetFile(io.BytesIO(body))
    schema = pa.schema([RESULT.field(name) for name in columns])
    present = [name for name in columns if name in parquet.schema_arrow.names]

    def batches() -> Iterator[pa.RecordBatch]:
        with _readable(key):
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=present):
                yield from conform(pa.Table.from_batches([batch]), schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def read_days(store: Store, layout: Layout, days: Iterable[date]) -> pa.Table:
    """The result rows of every given day that has a result (days without one are left out)."""
    present = result_objects(store, layout)
    tables = [read_day(store, layout, day) for day in sorted(set(days)) if day in present]
    return pa.concat_tables(tables) if tables else RESULT.empty_table()


# --- writing (the merge) ---


def write_day(store: Store, layout: Layout, day: date, path: str, *, expected_etag: str | None) -> ObjectInfo:
    """Put the day's Parquet file (one atomic object) only if the current object is still `expected_etag`
    (None: only if absent); PreconditionFailed when another merge wrote it meanwhile."""
    key = layout.result_parquet_key(day)
    if expected_etag is None:
        return store.write_file(key, path, if_absent=True)
    return store.write_file(key, path, if_match=expected_etag)


def month_days(store: Store, layout: Layout, year: int, month: int) -> dict[date, ObjectInfo]:
    """The result objects of one month's days."""
    return {day: info for day, info in result_objects(store, layout).items() if (day.year, day.month) == (year, month)}


CSV_OPTIONS = "FORMAT csv, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'"
HEADER = (",".join(RESULT.names) + "\n").encode()  # the first line of a CSV with a header (no name needs quotes)


def day_csv_header(store: Store, layout: Layout, day: date, *, mode: str) -> bool:
    """Whether the day's CSV starts with the header: always in `day` mode; in `month` mode only on the month's
    first day with a result, so that the month's CSV is its day files one after another."""
    return mode != "month" or not any(d < day for d in month_days(store, layout, day.year, day.month))


ANY = "*"  # put_day_csv's `expected_etag` when whatever CSV is there may be replaced


def put_day_csv(
    store: Store, layout: Layout, day: date, path: str | None, *, expected_etag: str | None = ANY
) -> ObjectInfo | None:
    """Store the day's CSV (a local file written by `parquet_to_csv`), or remove it when the day has no result
    any more (`path` None); when `expected_etag` is not ANY, only over that version (None: only where there is
    none), else PreconditionFailed."""
    key = layout.result_day_csv_key(day)
    if path is not None:
        if expected_etag == ANY:
            return store.write_file(key, path)
        if expected_etag is None:
            return store.write_file(key, path, if_absent=True)
        return store.write_file(key, path, if_match=expected_etag)
    if expected_etag is None:
        return None
    with contextlib.suppress(FileNotFoundError):
        store.delete(key, if_match=None if expected_etag == ANY else expected_etag)
    return None


def remove_month_csvs(store: Store, layout: Layout, months: Iterable[tuple[int, int]]) -> None:
    """Delete each month's CSV, when there is one."""
    for year, month in sorted(set(months)):
        with contextlib.suppress(FileNotFoundError):
            store.delete(layout.result_csv_key(year, month))


def write_month_csvs(
    store: Store,
    layout: Layout,
    months: Iterable[tuple[int, int]],
    *,
    workdir: str,
    file: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> list[ObjectInfo]:
    """Compose each month's CSV from its day CSVs (`file`, when given, also gets the newest month's); returns
    the objects written."""
    newest = max(result_objects(store, layout), default=None)
    written = []
    for year, month in sorted(set(months)):
        also = [file] if file and newest is not None and (newest.year, newest.month) == (year, month) else []
        result = write_month_csv(
            store, layout, year, month, workdir=workdir, also=also, memory_limit=memory_limit, threads=threads
        )
        if result is not None:
            written.append(result)
            written.extend(store.head(key) for key in also)
    return written


def write_month_csv(
    store: Store,
    layout: Layout,
    year: int,
    month: int,
    *,
    workdir: str,
    also: Sequence[str] = (),
    memory_limit: str | None = None,
    threads: int | None = None,
) -> ObjectInfo | None:
    """The month's CSV (and each key of `also`) composed by the store from the day CSVs, in day order; None when
    no day has a result. A day without a CSV, or with one older than its result, is converted once (its CSV is
    kept for the next composition); a day CSV whose header does not fit its place (a day before it was merged
    after it) is rewritten without converting. Composed again until the days it was made of are still the
    current ones, so two merges of one month racing end with the newest days."""
    key = layout.result_csv_key(year, month)
    written = None
    for _ in range(10):
        days = month_days(store, layout, year, month)
        if not days:
            return None
        csvs = {info.key: info for info in store.list(layout.result_csv_month_root(year, month))}
        sources = []
        for number, (day, result) in enumerate(days.items()):
            source = layout.result_day_csv_key(day)
            found = csvs.get(source)
            if found is None or found.modified < result.modified:
                path = os.path.join(workdir, f"csv-{day.isoformat()}.parquet")
                with store.open(result.key) as src, open(path, "wb") as dst:
                    copy_stream(src, dst)
                parquet_to_csv(path, path + ".csv", header=number == 0, memory_limit=memory_limit, threads=threads)
                store.write_file(source, path + ".csv")
            elif _has_header(store, source) != (number == 0):
                _set_header(store, source, number == 0, workdir=workdir)
            sources.append(source)
        used = {info.key: info.etag for info in store.list(layout.result_csv_month_root(year, month))}
        written = store.compose(key, sources)
        for other in also:
            store.compose(other, sources)
        now = {info.key: info.etag for info in store.list(layout.result_csv_month_root(year, month))}
        current = month_days(store, layout, year, month)
        if now == used and {d: i.etag for d, i in current.items()} == {d: i.etag for d, i in days.items()}:
            return written
    return written


def _has_header(store: Store, key: str) -> bool:
    return store.read_range(key, 0, len(HEADER)) == HEADER


def _set_header(store: Store, key: str, header: bool, *, workdir: str) -> None:
    """Rewrite a day CSV with or without its header line (the rows are copied, not converted again)."""
    path = os.path.join(workdir, "csv-header.csv")
    with store.open(key) as src, open(path, "wb") as dst:
        if header:
            dst.write(HEADER)
        else:
            read_upto(src, len(HEADER))
        copy_stream(src, dst)
    store.write_file(key, path)


def parquet_to_csv(
    parquet: str,
    csv: str,
    *,
    header: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> None:
    """Convert a day's result Parquet file into its CSV (CSV_OPTIONS, HEADER first when `header`) on a DuckDB
    session of its own: it streams (~150 MB at any size) and runs faster without the merge's tables in its
    buffer pool (1.75M rows: 4.3-4.6 s on the merge's connection, 3.3-3.9 s on its own)."""
    from kubebill.reconcile import session
    from kubebill.sinks import csvsafe

    con = session.connect(memory_limit=memory_limit, threads=threads)
    try:
        options = f"{CSV_OPTIONS}, HEADER {'true' if header else 'false'}"
        source = f"read_parquet('{session.quoted(parquet)}')"
        columns = csvsafe.select_list(pq.read_schema(parquet))
        con.execute(f"COPY (SELECT {columns} FROM {source}) TO '{session.quoted(csv)}' ({options})")
    finally:
        con.close()
