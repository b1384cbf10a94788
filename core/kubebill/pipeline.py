"""The only module that composes IO and transforms: export, merge, handle_object_created, catch_up.

Each function takes an open Store and the Settings, does one whole job, and returns a small summary
that callers (CLI, cloud function handlers) log. Sections are owned by different parts of the product;
keep each function's body in its own section.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from kubebill import log
from kubebill.errors import InputError
from kubebill.layout import Layout
from kubebill.scratch import scratch
from kubebill.settings import Settings
from kubebill.store.base import ObjectInfo, Store

if TYPE_CHECKING:
    import pyarrow as pa

# ---------------------------------------------------------------------------------------------
# export (cluster side -> allocations/...)
# ---------------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    cluster: str
    source: str
    days: list[date] = field(default_factory=list)
    rows: int = 0
    keys: list[str] = field(default_factory=list)


def export(
    store: Store,
    settings: Settings,
    *,
    days: Sequence[date],
    source: str | None = None,
    url: str | None = None,
    cluster: str | None = None,
    on_day: Callable[[date, int, str], None] | None = None,
) -> ExportSummary:
    """Pull each UTC day from the cluster API and write allocations/cluster=…/…/<source>.parquet.

    One object per cluster-day, replaced whole (identical input -> identical bytes). `on_day(day, rows,
    key)` is called after each day is written (progress). Raises SourceError (exit 2) for unusable answers.
    """

    import requests

    from kubebill.errors import ConfigError
    from kubebill.layout import Layout
    from kubebill.model import Window
    from kubebill.settings import _cluster
    from kubebill.sources.fetch import client
    from kubebill.sources.http import HttpOptions, redact
    from kubebill.sources.opencost import Query

    source = source or settings.source
    base_url = url or settings.source_url
    name = cluster or settings.cluster
    fetch_day = client(source)
    if not base_url:
        raise ConfigError("no allocation API URL: pass --url or set KUBEBILL_SOURCE_URL")
    if not name:
        raise ConfigError("no cluster name: pass --cluster or set KUBEBILL_CLUSTER")
    try:
        name = _cluster(name)
    except ValueError as exc:
        raise ConfigError(f"--cluster {name!r}: expected {exc}") from None
    layout = Layout.from_settings(settings)
    query, options = Query.from_settings(settings), HttpOptions.from_settings(settings)
    summary = ExportSummary(cluster=name, source=source)
    now = datetime.now(UTC)
    unfinished = [day for day in days if Window.of_day(day).end > now]
    if unfinished:
        raise InputError(f"{unfinished[0]} is not over yet (UTC); export complete days only")
    with requests.Session() as session:
        session.headers["User-Agent"] = f"kubebill/{_version()}"
        for day in days:
            batches = fetch_day(
                session,
                source=source,
                base_url=base_url,
                cluster=name,
                day=day,
                query=query,
                options=options,
                workers=settings.export_workers,
            )
            key = layout.allocation_key(name, day, source)
            with scratch("export") as spool:
                path = f"{spool}/{day}.parquet"
                rows = _write_allocations(batches, path, what=f"{source} {redact(base_url)} {day}")
                store.write_file(key, path)
            summary.days.append(day)
            summary.keys.append(key)
            summary.rows += rows
            if on_day is not None:
                on_day(day, rows, key)
    return summary


ROW_GROUP_ROWS = 8_192  # a fixed row count: the same row groups whatever the steps, ~5 MB of Arrow each
# min/max statistics where a reader may prune row groups; dictionaries where values repeat within a row
# group (a pod appears once per step, its labels too): both cost encoding time for nothing elsewhere
_STATISTICS = ("window_start", "window_end", "cluster", "node", "provider_id", "namespace", "controller", "source")
_NO_DICTIONARY = ("pod", "labels")


def _write_allocations(batches: Iterable[pa.RecordBatch], path: str, *, what: str) -> int:
    """Stream ALLOCATION batches into one Parquet file in row groups of ROW_GROUP_ROWS; returns the row count.

    Written to a path, not a Python file object, so Arrow's writes never wait for this thread.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kubebill.errors import SourceError
    from kubebill.schema import ALLOCATION

    rows = 0
    pending: list[pa.RecordBatch] = []
    with pq.ParquetWriter(
        path,
        ALLOCATION,
        compression="zstd",
        write_statistics=list(_STATISTICS),
        use_dictionary=[name for name in ALLOCATION.names if name not in _NO_DICTIONARY],
    ) as writer:
        for batch in batches:
            pending.append(batch)
            rows += batch.num_rows
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS:
                group = pa.Table.from_batches(pending, ALLOCATION)  # no copy
                writer.write_table(group.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                pending = group.slice(ROW_GROUP_ROWS).to_batches()
            del batch
        if pending:
            writer.write_table(pa.Table.from_batches(pending, ALLOCATION), row_group_size=ROW_GROUP_ROWS)
    if rows == 0:
        raise SourceError(
            f"{what}: no allocations for the whole day (a fresh install has none yet, "
            "or the API's retention does not reach back that far)"
        )
    return rows


def _version() -> str:
    from kubebill import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# merge (allocations + billing -> results/...)
# ---------------------------------------------------------------------------------------------


@dataclass
class MergeSummary:
    days: list[date] = field(default_factory=list)
    merged: list[date] = field(default_factory=list)
    unchanged: list[date] = field(default_factory=list)
    rows: int = 0
    bad_inputs: list[str] = field(default_factory=list)  # rejected inputs (ledger state `rejected`)
    reasons: dict[str, str] = field(default_factory=dict)  # rejected or overlapping input -> why
    overlapping: list[str] = field(default_factory=list)  # exports another of the same account and period replaces
    unallocated: list[str] = field(default_factory=list)  # rejected allocation exports whose cluster went unallocated
    inputs: dict[str, int] = field(default_factory=dict)  # ledger objects per state
    keys: list[str] = field(default_factory=list)  # result objects written (day Parquet, month CSV)
    stats: dict[str, int] = field(default_factory=dict)  # result rows by x_K8sAllocation, flagged_slices
    unmatched: list[str] = field(default_factory=list)  # policy selectors (VARIABLE=item) no merged day matched
    seconds: float = 0.0
    deferred: list[date] = field(default_factory=list)  # days recorded for the Spark merge (KUBEBILL_ENGINE=spark)


_MERGE_ATTEMPTS = 5
LOG_MERGE = log.get("merge")


@dataclass
class _DayInputs:
    allocations: list[ObjectInfo] = field(default_factory=list)  # accepted allocation exports
    rejected: dict[str, str] = field(default_factory=dict)  # rejected allocation export key -> etag
    units: list[Any] = field(default_factory=list)
    billing: list[tuple[str, str]] = field(default_factory=list)  # (key, etag) of the billing units' objects

    def fingerprint(self, settings: Settings) -> str:
        """Inputs and the settings that change results or outputs: a change of either makes the day's merge due."""
        import hashlib
        import json

        items = sorted([(i.key, i.etag) for i in self.allocations] + list(self.rejected.items()) + self.billing)
        rules = {
            "split_method": settings.split_method,
            "shared_spread": settings.shared_spread,
            "allocation_source": settings.allocation_source,
            "policies": [
                settings.idle_share,
                settings.idle_share_scope,
                settings.shared_namespaces,
                settings.shared_labels,
                settings.namespace_tags,
                settings.cluster_tags,
            ],
            "result_csv": settings.result_csv,  # an output switched on is written for every day, not just new ones
        }
        return hashlib.sha256(json.dumps([items, rules], sort_keys=True).encode()).hexdigest()


def _unit_objects(unit: Any) -> list[tuple[str, str]]:
    """(key, etag) of every object a billing unit reads (its data files and manifest)."""
    return list(zip(unit.keys, unit.etags, strict=True))


def _merge_inputs(
    store: Store, layout: Layout, staged: _Staged, previous: Any = None
) -> tuple[dict[date, _DayInputs], Any]:
    """Every day some input covers, with the allocation objects and billing units covering it, and the ledger.

    Every billing unit is read here (the days it covers are the days its lines start on, whatever its manifest
    says); every allocation export not already checked at its etag is checked (schema by column name and type,
    finite numbers). `previous` is the last ledger: content hashes, accepted runs and checks are reused.
    """
    from concurrent.futures import ThreadPoolExecutor

    from kubebill import billing
    from kubebill.billing import overlap
    from kubebill.billing.runs import History, Previous
    from kubebill.ledger import Ledger
    from kubebill.ledger.build import AllocationCheck, build
    from kubebill.sources import stored

    previous = previous if previous is not None else Ledger()
    days: dict[date, _DayInputs] = {}
    checks: dict[str, AllocationCheck] = {}
    overlapping: dict[str, str] = {}  # a good allocation export -> the one of its cluster and day that counts
    by_day = stored.by_day(store, layout)
    # the allocation exports are checked on a thread of their own while the bill is read and staged: neither
    # reads the other, and each alone leaves part of the machine idle (1M lines: the check 0.18 s at 1.2 cores,
    # the staging 0.56 s at 1.75)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kubebill-check") as pool:
        checking = {
            info.key: pool.submit(
                staged.check_allocation,
                store,
                info,
                previous,
                day=day,
                keep=staged.days is not None and day in staged.days,
            )
            for day, objects in by_day.items()
            for info in objects
        }
        counted = _counted(previous)
        history = History(
            hashes=previous.hashes(),
            # accepted manifests, and those whose previous run kept counting (rejected, or waiting for a newer run)
            runs={k: Previous(e.run or k, e.parts) for k, e in previous.runs().items()},
            counted=counted,
        )
        found = billing.scan(store, layout, history=history)
        staged.hashed = overlap.hashes_wanted(found.units)
        for unit in found.units:
            staged.path(store, unit)
        for day, objects in by_day.items():
            inputs = days.setdefault(day, _DayInputs())
            for info in objects:
                checks[info.key] = checking[info.key].result()
                if checks[info.key].error is not None:
                    inputs.rejected[info.key] = info.etag
            good = [info for info in objects if checks[info.key].error is None]
            overlapping |= stored.overlapping(layout, good)
            inputs.allocations.extend(info for info in good if info.key not in overlapping)
    charges = {u: staged.reads[u].charges for u in found.units if staged.paths.get(u) is not None}
    hashes = {u: staged.reads[u].hashes for u in staged.hashed if staged.paths.get(u) is not None}
    replaced = overlap.repeating(hashes, charges, found.modified, connect=staged.connect)
    for unit in hashes:
        staged.reads[unit].hashes = []
    again = {s.key for s in replaced}
    replaced += overlap.overlapping([u for u in found.units if u.keys[0] not in again], charges, found.modified)
    if replaced:
        gone = {s.key for s in replaced}
        found.units = [u for u in found.units if u.keys[0] not in gone]
        found.skipped.extend(replaced)
    for unit in found.units:
        if staged.path(store, unit) is None:
            continue
        for day in sorted(staged.line_days[unit]):
            inputs = days.setdefault(day, _DayInputs())
            inputs.units.append(unit)
            inputs.billing.extend(_unit_objects(unit))
    ledger = build(found, staged.reads, checks, overlapping)
    ledger.carry_counted(previous)
    for key in ledger.in_state("rejected"):
        LOG_MERGE.warning("input rejected", extra={"key": key, "reason": ledger.entries[key].reason})
    return dict(sorted(days.items())), ledger


def _read_state(store: Store, key: str) -> tuple[dict[str, Any], str | None]:
    """A day's merge state and its etag; a damaged one (not JSON, a field not of its type) reads as none
    (ledger.records): the day is merged again."""
    from kubebill.ledger import records

    kinds = {
        "fingerprint": records.TEXT,
        "pending": records.BOOL,
        "result_etag": records.TEXT_OR_NULL,
        "rows": records.COUNT,
        "unallocated": records.TEXTS,
        "inputs": records.PAIRS,
        "compare": records.BOOL,
        "csv_etag": records.TEXT_OR_NULL,
    }
    return records.load(store, key, lambda body: records.fields(records.json_object(body), kinds), dict[str, Any]())


# what reading bytes no export has can raise besides InputError; a store outage (ConnectionError, TimeoutError,
# the SDKs' own errors) is none of these and still raises, so the platform retries
def _unreadable() -> tuple[type[BaseException], ...]:
    import csv
    import zipfile
    import zlib

    import pyarrow as pa

    return (csv.Error, UnicodeError, EOFError, zlib.error, zipfile.BadZipFile, pa.ArrowException, ValueError,
            KeyError, IndexError, TypeError, OverflowError)  # fmt: skip


@dataclass
class _Staged:
    """Billing units read once per merge into local Parquet (all the merge's days), reused by every day."""

    workdir: str
    days: set[date] | None  # the days to keep (None: every day of the unit)
    paths: dict[Any, str | None] = field(default_factory=dict)  # unit -> file, None when unreadable
    line_days: dict[Any, set[date]] = field(default_factory=dict)  # unit -> days its lines start on
    errors: dict[Any, str] = field(default_factory=dict)
    reads: dict[Any, Any] = field(default_factory=dict)  # unit -> ledger.build.UnitRead
    pending: dict[date, tuple[str, bytes]] = field(default_factory=dict)  # day -> (state etag, final state body)
    checked: dict[str, tuple[str, str]] = field(default_factory=dict)  # allocation key -> (etag, its checked copy)
    hashed: set[Any] = field(default_factory=set)  # units whose lines are hashed (billing.overlap.repeating)
    memory_limit: str | None = None  # of the DuckDB session pairing Azure exports
    threads: int | None = None
    spark: _SparkDays | None = None  # KUBEBILL_ENGINE=spark: the days one Spark run reconciled (see _spark_days)

    def connect(self) -> Any:
        """A DuckDB session for the billing readers (the Azure Actual/Amortized pairing): the engine's, under the
        merge's memory limit and threads."""
        from kubebill.reconcile import session

        return session.connect(memory_limit=self.memory_limit, threads=self.threads)

    def path(self, store: Store, unit: Any) -> str | None:
        if unit not in self.paths:
            self.paths[unit] = self._stage(store, unit)
        return self.paths[unit]

    def _stage(self, store: Store, unit: Any) -> str | None:
        import os

        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from kubebill import billing
        from kubebill.ahead import ahead
        from kubebill.billing import overlap
        from kubebill.billing.common import BATCH_ROWS
        from kubebill.errors import StoreError
        from kubebill.ledger import totals
        from kubebill.ledger.build import UnitRead
        from kubebill.schema import COST, conform

        path = os.path.join(self.workdir, f"billing-{len(self.paths):05d}.parquet")
        found: set[date] = set()
        read = UnitRead()
        keep = None if self.days is None else pa.array(sorted(self.days), pa.date32())
        text = [f.name for f in COST if pa.types.is_string(f.type)]
        hashing = self.connect() if unit in self.hashed else None

        def tables() -> Iterator[pa.Table]:
            """The unit's lines as COST tables, summed for the ledger, the merge's days kept (all of a batch
            whose lines are all in them: no copy)."""
            for batch in billing.read(store, unit, excluded=read.excluded, connect=self.connect):
                table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
                table = conform(table, COST)
                starts = pc.cast(table.column("ChargePeriodStart"), pa.date32())
                totals.add(read.totals, read.rows, table, charges=read.charges, days=found, starts=starts)
                if hashing is not None:
                    read.hashes.append(overlap.line_hashes(hashing, table))
                if keep is not None:
                    kept = pc.fill_null(pc.is_in(starts, value_set=keep), False)
                    if not pc.all(kept).as_py():
                        table = table.filter(kept)
                if table.num_rows:
                    yield table

        try:
            # a local file of this merge: lz4, cheap to write (zstd took 0.54 s for 1M lines); its text columns
            # dictionary-encoded, for DuckDB reads a dictionary page's strings once where it read every row's (the
            # stages and the result's join read them: 1M lines' stages 2.03-2.16 -> 1.84-1.98 s, the write no
            # slower); statistics only where the engine's day filter prunes row groups; the next batch is read and
            # summed on a thread of its own while the last is written, one batch ahead: at most ~3 batches of
            # BATCH_ROWS lines held at once (1M lines: 0.6-0.8 s, was ~1.0)
            with pq.ParquetWriter(
                path, COST, compression="lz4", use_dictionary=text, write_statistics=["ChargePeriodStart"]
            ) as writer:
                for table in ahead(tables(), depth=1):
                    writer.write_table(table, row_group_size=BATCH_ROWS)
        except StoreError:
            raise
        except Exception as exc:
            if not isinstance(exc, (InputError, *_unreadable())):
                raise
            reason = str(exc) if isinstance(exc, InputError) else f"{unit.keys[0]}: unreadable ({exc!r})"
            LOG_MERGE.warning(
                "bad billing input left out of the merge", extra={"keys": list(unit.keys), "reason": reason}
            )
            self.errors[unit] = reason
            self.reads[unit] = UnitRead(error=reason)
            os.remove(path)
            return None
        finally:
            if hashing is not None:
                hashing.close()
        self.line_days[unit] = found
        self.reads[unit] = read
        return path

    def cost(self, store: Store, units: list[Any]) -> Any:
        """The units' lines as one COST dataset (the engine keeps the day's)."""
        import pyarrow.dataset as ds

        from kubebill.schema import COST

        paths = [p for p in (self.path(store, u) for u in units) if p is not None]
        return ds.dataset(paths, schema=COST, format="parquet") if paths else COST.empty_table()

    def expected(self, units: list[Any], day: date) -> dict[str, dict[str, float]]:
        """Σ per currency and cost column of the day's lines of `units`, as read from the files (the ledger's)."""
        out: dict[str, dict[str, float]] = {}
        for unit in units:
            read = self.reads.get(unit)
            if read is None or read.error is not None:
                continue
            for per_day in read.totals.values():
                for currency, columns in per_day.get(day.isoformat(), {}).items():
                    into = out.setdefault(currency, {})
                    for name, value in columns.items():
                        into[name] = into.get(name, 0.0) + value
        return out

    def check_allocation(
        self, store: Store, info: ObjectInfo, previous: Any, *, day: date | None = None, keep: bool = False
    ) -> Any:
        """An allocation export's check at its etag: the ledger's when it has one, else copied and checked (its
        windows against `day`, the day its key names).

        `keep` (a day this merge will read) keeps a good copy in `checked` for `stored.read_day`, which then
        neither copies nor checks it again."""
        import os
        import tempfile

        from kubebill.ledger.build import AllocationCheck
        from kubebill.sources import stored
        from kubebill.store.base import copy_stream

        known = previous.get(info.key)
        if known is not None and known.etag == info.etag and known.kind == "allocation":
            # an overlapping export passed its check: another export of its cluster-day counted instead
            return AllocationCheck(info.etag, known.reason if known.state == "rejected" else None)
        handle, path = tempfile.mkstemp(dir=self.workdir, suffix=".parquet")
        os.close(handle)
        try:
            with store.open(info.key) as src, open(path, "wb") as dst:
                copy_stream(src, dst)
            stored.check_file(path, what=info.key, day=day)
        except InputError as exc:
            os.remove(path)
            return AllocationCheck(info.etag, str(exc))
        except BaseException:
            os.remove(path)
            raise
        if keep:
            self.checked[info.key] = (info.etag, path)
        else:
            os.remove(path)
        return AllocationCheck(info.etag)


class _Tally:
    """Σ per currency and cost column of the RESULT batches passed through `over` (estimates left out): the rows
    as the writer gets them, summed while they are written instead of read back from the file."""

    def __init__(self) -> None:
        self.found: dict[str, dict[str, float]] = {}

    def over(self, batches: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
        for batch in batches:
            self.add(batch)
            yield batch

    def add(self, batch: pa.RecordBatch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        from kubebill.schema import COST_COLUMNS

        kept = pc.fill_null(pc.not_equal(batch.column("x_K8sAllocation"), "estimated"), True)
        if not pc.all(kept).as_py():
            batch = batch.filter(kept)
        if not batch.num_rows:
            return
        currency = pc.fill_null(batch.column("BillingCurrency"), "")
        first = currency[0].as_py()
        if pc.all(pc.equal(currency, first)).as_py():  # one currency a batch, nearly always: no grouping
            sums = [(first, {n: pc.sum(batch.column(n)).as_py() for n in COST_COLUMNS})]
        else:
            table = pa.table({"c": currency, **{n: batch.column(n) for n in COST_COLUMNS}})
            grouped = table.group_by("c").aggregate([(n, "sum") for n in COST_COLUMNS]).to_pylist()
            sums = [(r["c"], {n: r[f"{n}_sum"] for n in COST_COLUMNS}) for r in grouped]
        for name, values in sums:
            into = self.found.setdefault(str(name), {})
            for column, value in values.items():
                into[column] = into.get(column, 0.0) + float(value or 0.0)


def _conserved(
    found: dict[str, dict[str, float]], expected: dict[str, dict[str, float]], *, day: date, keys: list[str]
) -> None:
    """Σ of the result per currency and cost column (estimates left out, `found`: a _Tally of the written rows) =
    Σ of the accepted inputs' lines of the day, as the ledger read them from the files; InvariantViolation naming
    the day and the inputs otherwise."""
    import math

    from kubebill.errors import InvariantViolation
    from kubebill.schema import COST_COLUMNS

    for currency in sorted(set(found) | set(expected)):
        for name in COST_COLUMNS:
            want = expected.get(currency, {}).get(name, 0.0)
            got = found.get(currency, {}).get(name, 0.0)
            if not (math.isfinite(got) and abs(got - want) <= 1e-9 * max(abs(want), abs(got)) + 1e-6):
                raise InvariantViolation(
                    f"{day.isoformat()} in {currency or '(no currency)'}: Σ {name} of the result is {got!r}, the "
                    f"accepted inputs' lines of the day sum to {want!r} (inputs: {', '.join(sorted(keys))})"
                )


def _merge_day(
    store: Store,
    settings: Settings,
    layout: Layout,
    day: date,
    inputs: _DayInputs,
    *,
    staged: _Staged,
    ledger: Any,
) -> tuple[bool, int, list[str], dict[str, int], list[str] | None]:
    """Merge one day unless its inputs are unchanged; (merged?, rows, unallocated allocation keys, stats, the
    policy selectors that matched nothing in the day, None when it was not reconciled).

    Conditional writes on the result and the state object: a merge that lost a race to another merge of
    the same day starts over from a fresh listing, so the last one to finish used the newest inputs. The state
    is written `pending` (outputs not all written yet) and made final by `merge` after the month's CSV.
    """
    import json
    import os

    import pyarrow as pa

    from kubebill.billing.runs import is_manifest_name
    from kubebill.errors import PreconditionFailed
    from kubebill.reconcile import rows as result_rows
    from kubebill.sinks import results
    from kubebill.sources import stored

    state_key = layout.state_key(f"merge/{day.isoformat()}.json")
    options = _options(settings, staged)
    for attempt in range(_MERGE_ATTEMPTS):
        if attempt:
            inputs = _merge_inputs(store, layout, staged, ledger)[0].get(day, _DayInputs())
        state, state_etag = _read_state(store, state_key)
        now = _Outputs.of_day(store, layout, settings, day, state)
        current, csv_now = now.result, now.csv
        fingerprint = inputs.fingerprint(settings)
        if _is_current(state, fingerprint, now):
            return False, int(state.get("rows", 0)), list(state.get("unallocated", [])), {}, None
        merged_before = {k for k, _ in state.get("inputs", [])} if current is not None else set()
        # a bad object where a merged one was (an allocation export or a bill file overwritten or re-delivered
        # broken): the day keeps its last good result, with that object's money, until it is good again or deleted.
        # A manifest holds no line: its run's files each have their own state (or its previous run keeps counting).
        replaced = sorted(
            k
            for k in {*inputs.rejected, *ledger.in_state("rejected")}
            if k in merged_before and not is_manifest_name(k)
        )
        if replaced:
            reasons = "; ".join(ledger.entries[k].reason if k in ledger.entries else k for k in replaced)
            what = "allocation export" if all(k in inputs.rejected for k in replaced) else "input"
            raise InputError(f"a rejected {what} replaces one already merged, the day keeps its result: {reasons}")
        daydir = os.path.join(staged.workdir, f"{day.isoformat()}-{attempt}")
        os.makedirs(daydir)
        ready = staged.spark.days.pop(day, None) if staged.spark and not attempt else None  # (allocations, run)
        allocations = (
            ready[0]
            if ready
            else stored.read_day(store, layout, inputs.allocations, day=day, workdir=daydir, checked=staged.checked)
        )
        cost = staged.cost(store, inputs.units)
        pa.default_memory_pool().release_unused()  # the readers' batches are on disk now: give DuckDB the room
        source = allocations.dataset if allocations.dataset is not None else allocations.table()
        engine = staged.spark.alone if staged.spark else _engine(settings)
        run = ready[1]() if ready else engine(source, cost, day=day, options=options, allocation_keys=allocations.keys)
        try:
            rows, stats, unmatched = run.rows, run.stats(), run.unmatched
            path = os.path.join(daydir, "result.parquet")
            tally = _Tally()
            result_rows.write_parquet(path, tally.over(run.batches()))
            overlap = run.cloud_overlap()
        finally:
            run.close()  # its tables are not needed for the CSV: their memory is free before it
        compared = _compare_sources(
            path, source, cost, day=day, options=options, keys=allocations.keys, clusters=overlap
        )
        billing_keys = sorted({k for k, _ in inputs.billing})
        _conserved(tally.found, staged.expected(inputs.units, day), day=day, keys=billing_keys)
        csv = os.path.join(daydir, "result.csv") if rows and settings.result_csv != "off" else None
        if csv:
            header = results.day_csv_header(store, layout, day, mode=settings.result_csv)
            results.parquet_to_csv(
                path, csv, header=header, memory_limit=settings.memory_limit, threads=settings.threads
            )
        try:
            # a day whose inputs hold no line and no allocation has no result (readers see no empty days)
            _put_compare(store, layout, day, compared, had=bool(state.get("compare")))
            written = results.write_day(store, layout, day, path, expected_etag=current) if rows else None
            if written is None and current is not None:
                store.delete(layout.result_parquet_key(day), if_match=current)
            csv_written = None
            if csv or written is None or settings.result_csv == "off":  # off: a CSV of another mode would go stale
                # conditional, as the result is: a CSV raced by another merge of the day fails this attempt
                expected = csv_now if not isinstance(csv_now, _NoCsv) else results.ANY
                csv_written = results.put_day_csv(store, layout, day, csv, expected_etag=expected)
            body = {
                "day": day.isoformat(),
                "fingerprint": fingerprint,
                "inputs": sorted([[i.key, i.etag] for i in inputs.allocations] + [list(b) for b in inputs.billing]),
                "unallocated": sorted(inputs.rejected),  # rejected allocation exports: their clusters unallocated
                "result_etag": written.etag if written else None,
                "rows": rows,
                "compare": compared is not None,  # a cross-check written beside the result (reconcile.compare)
                # month mode: composing the month rewrites a day file's header line, so only its being there counts
                "csv_etag": csv_written.etag if csv_written and settings.result_csv == "day" else None,
                "merged_at": datetime.now(UTC).isoformat(),
            }
            data = json.dumps({**body, "pending": True}, indent=1).encode()
            if state_etag is None:
                info = store.write(state_key, data, if_absent=True)
            else:
                info = store.write(state_key, data, if_match=state_etag)
            staged.pending[day] = (info.etag, json.dumps(body, indent=1).encode())
        except (PreconditionFailed, FileNotFoundError):
            LOG_MERGE.info("another merge of the day won the race; merging again", extra={"day": day.isoformat()})
            continue
        if unmatched:
            LOG_MERGE.warning(
                "policy selectors matched nothing", extra={"day": day.isoformat(), "selectors": unmatched}
            )
        return written is not None or current is not None, rows, sorted(inputs.rejected), stats, unmatched
    raise RuntimeError(f"merge of {day.isoformat()}: lost {_MERGE_ATTEMPTS} races to concurrent merges in a row")


def _compare_sources(
    path: str, source: Any, cost: Any, *, day: date, options: Any, keys: Any, clusters: list[str]
) -> Any:
    """Where an allocation export and the cloud's own split both cover a cluster this day: the day split again by
    the source that did not win, compared per namespace with the result at `path` (reconcile.compare); else None."""
    if not clusters:
        return None
    import dataclasses

    from kubebill.reconcile import compare
    from kubebill.reconcile.engine import Reconciliation

    other = "export" if options.allocation_source == "cloud" else "cloud"
    run = Reconciliation(
        source, cost, day=day, options=dataclasses.replace(options, allocation_source=other), allocation_keys=keys
    )
    try:
        table = run.table()
    finally:
        run.close()
    export, cloud = (table, path) if other == "export" else (path, table)
    return compare.compare(export, cloud, day=day, clusters=clusters)


def _put_compare(store: Store, layout: Layout, day: date, compared: Any, *, had: bool) -> None:
    """The day's cross-check beside its result; the old one removed when the day's last merge (its state says:
    `had`) wrote one and this one has none. A day that never had one costs no request."""
    import contextlib
    import io

    import pyarrow.parquet as pq

    key = layout.compare_key(day)
    if compared is None:
        if had:
            with contextlib.suppress(FileNotFoundError):
                store.delete(key)
        return
    buffer = io.BytesIO()
    pq.write_table(compared, buffer)
    store.write(key, buffer.getvalue())


def _engine(settings: Settings) -> type[Any]:
    """The day's Reconciliation: embedded DuckDB, or the same stages on Spark (KUBEBILL_ENGINE)."""
    if settings.engine == "spark":
        from kubebill.reconcile.spark_batch import SparkReconciliation

        return SparkReconciliation
    from kubebill.reconcile.engine import Reconciliation

    return Reconciliation


def _options(settings: Settings, staged: _Staged) -> Any:
    """The engine's Options of the merge's settings, spilling under its work folder."""
    import os

    from kubebill.reconcile.engine import Options

    return Options(
        method=settings.split_method,
        shared_spread=settings.shared_spread,
        allocation_source=settings.allocation_source,
        idle_share=settings.idle_share,
        idle_share_scope=settings.idle_share_scope,
        shared_namespaces=settings.shared_namespaces,
        shared_labels=settings.shared_labels,
        namespace_tags=settings.namespace_tags,
        cluster_tags=settings.cluster_tags,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
        temp_directory=os.path.join(staged.workdir, "spill"),
    )


@dataclass
class _SparkDays:
    """KUBEBILL_ENGINE=spark: the merge's due days reconciled by one Spark run, each taken once by `_merge_day` as
    (its allocations, what makes its reconciliation or raises its own error); `alone` reconciles a day by itself
    (a day merged again after a lost race), staged where the executors see it."""

    days: dict[date, tuple[Any, Callable[[], Any]]]
    alone: Callable[..., Any]


@contextlib.contextmanager
def _spark_days(
    store: Store,
    settings: Settings,
    layout: Layout,
    wanted: list[date],
    inputs: dict[date, _DayInputs],
    staged: _Staged,
) -> Iterator[_SparkDays]:
    """Every wanted day whose inputs changed since its committed merge (as `_merge_day` judges it), read as
    `_merge_day` reads it and reconciled together by one Spark run (reconcile.spark_batch), its staging folder
    (spark_staging: local on a local master, else under results/_state/spark/) removed on exit. A day whose
    allocations cannot be read is left to `_merge_day`, which fails it alone."""
    import functools
    import os

    from kubebill.reconcile import spark, spark_batch, spark_staging
    from kubebill.sources import stored

    session = spark.session()
    new_staging = functools.partial(
        spark_staging.staging,
        session.sparkContext.master,
        parent=os.path.join(staged.workdir, "spark"),
        store=store,
        store_url=settings.store,
        key=layout.state_key("spark"),
    )
    alone = functools.partial(spark_batch.SparkReconciliation, spark_session=session, new_staging=new_staging)
    due, read = {}, {}
    for day in wanted:
        day_inputs = inputs.get(day, _DayInputs())
        empty = not day_inputs.allocations and not day_inputs.units
        if empty or _unchanged(store, layout, settings, day, day_inputs):
            continue
        workdir = os.path.join(staged.workdir, "spark-inputs", day.isoformat())
        os.makedirs(workdir)
        try:
            read[day] = stored.read_day(
                store, layout, day_inputs.allocations, day=day, workdir=workdir, checked=staged.checked
            )
        except InputError:
            continue
        source = read[day].dataset if read[day].dataset is not None else read[day].table()
        due[day] = spark_batch.DayInputs(source, staged.cost(store, day_inputs.units), read[day].keys)
    if not due:
        yield _SparkDays({}, alone)
        return
    staging = new_staging()
    try:
        runs = spark_batch.run(due, options=_options(settings, staged), spark_session=session, staged=staging)
        yield _SparkDays({day: (read[day], runs[day]) for day in due}, alone)
    finally:
        staging.remove()


def _unchanged(store: Store, layout: Layout, settings: Settings, day: date, inputs: _DayInputs) -> bool:
    """The day's committed merge used these inputs and its result is still the one it wrote (see `_merge_day`)."""
    state, _ = _read_state(store, layout.state_key(f"merge/{day.isoformat()}.json"))
    return _is_current(state, inputs.fingerprint(settings), _Outputs.of_day(store, layout, settings, day, state))


class _NoCsv:
    """The settings ask for no day CSV: there is none to check."""


NO_CSV = _NoCsv()


@dataclass(frozen=True)
class _Outputs:
    """A day's outputs as they are on the store now, which `_is_current` holds against the day's state."""

    result: str | None  # the result's etag; None: there is none
    csv: str | _NoCsv | None = NO_CSV  # the day CSV's etag; None: there is none; NO_CSV: the settings ask for none
    compare: bool = False  # the day's cross-check (reconcile.compare) is there

    @classmethod
    def of_day(cls, store: Store, layout: Layout, settings: Settings, day: date, state: dict[str, Any]) -> _Outputs:
        """One day's, by a request per output (the cross-check's only when the state says there is one)."""
        csv: str | _NoCsv | None = NO_CSV
        if settings.result_csv != "off":
            csv = _etag(store, layout.result_day_csv_key(day))
        compare = bool(state.get("compare")) and _etag(store, layout.compare_key(day)) is not None
        return cls(_etag(store, layout.result_parquet_key(day)), csv, compare)


@dataclass(frozen=True)
class _OnStore:
    """Every day's outputs, one listing per kind of output (for `_changed` over many days)."""

    results: Mapping[date, ObjectInfo]
    csvs: Mapping[date, ObjectInfo] | None  # None: the settings ask for no CSV
    month_csvs: set[tuple[int, int]]  # the months that have a month CSV
    compares: set[date]  # the days that have a cross-check

    @classmethod
    def listed(cls, store: Store, layout: Layout, settings: Settings, results: Mapping[date, ObjectInfo]) -> _OnStore:
        from kubebill.sinks import results as sink

        csvs, months = sink.csv_objects(store, layout) if settings.result_csv != "off" else (None, set())
        return cls(results, csvs, months, sink.compared_days(store, layout))

    def day(self, day: date) -> _Outputs:
        result = self.results.get(day)
        csv: str | _NoCsv | None = NO_CSV
        if self.csvs is not None:
            csv = self.csvs[day].etag if day in self.csvs else None
        return _Outputs(result.etag if result is not None else None, csv, day in self.compares)


def _etag(store: Store, key: str) -> str | None:
    try:
        return store.head(key).etag
    except FileNotFoundError:
        return None


def _is_current(state: dict[str, Any], fingerprint: str, now: _Outputs) -> bool:
    """The day's committed merge used inputs of this fingerprint and wrote the outputs that are there now: its
    result; when the settings ask for one and the day has rows, its CSV (a state that records no CSV etag, from
    month mode or from before CSVs were recorded, is held to the CSV's being there); its cross-check when it wrote
    one."""
    return bool(
        state.get("fingerprint") == fingerprint
        and not state.get("pending")
        and "result_etag" in state
        and state["result_etag"] == now.result
        and (
            isinstance(now.csv, _NoCsv)
            or not state.get("rows")
            or (now.csv is not None and state.get("csv_etag") in (None, now.csv))
        )
        and (not state.get("compare") or now.compare)
    )


def _commit(store: Store, layout: Layout, staged: _Staged) -> None:
    """Every output of the merged days is written: their states stop being pending (a merge killed before this
    point leaves them pending, and the next merge of those days writes their outputs again)."""
    import contextlib

    from kubebill.errors import PreconditionFailed

    for day, (etag, body) in sorted(staged.pending.items()):
        with contextlib.suppress(PreconditionFailed):  # a newer merge of the day took over: it commits its own
            store.write(layout.state_key(f"merge/{day.isoformat()}.json"), body, if_match=etag)
    staged.pending.clear()


def merge(store: Store, settings: Settings, *, days: Sequence[date] | None = None) -> MergeSummary:
    """Reconcile the given UTC days (default: the days whose inputs or result-changing settings changed).

    Every cluster and cloud of a day at once; a Parquet object per day (CSVs as KUBEBILL_RESULT_CSV says);
    merge state with the day's fingerprint in results/_state/merge/ (unchanged: nothing written), committed
    only once every output of the day is written; the input ledger in results/_state/ledger.json; health
    recorded after every merge. A bad input is rejected (named in the ledger and the summary), never fatal:
    a rejected allocation export leaves its cluster's lines unallocated on a day's first merge. A day whose
    inputs cannot be merged (a rejected export replacing a merged one, a result that would not sum to its
    inputs) keeps its last result while the other days merge, then the merge fails naming each such day.
    With no `days`, the days recorded for it (KUBEBILL_ENGINE=spark) are merged too; each committed day leaves
    that record.
    """
    import time

    from kubebill import health, progress
    from kubebill.errors import InvariantViolation
    from kubebill.ledger import LedgerStore, QueueStore
    from kubebill.sinks import results

    layout = Layout.from_settings(settings)
    if settings.engine == "spark":  # before anything is read: a missing pyspark or JRE is one line naming it
        from kubebill.reconcile import spark

        spark.require()
    started = time.monotonic()
    summary = MergeSummary()
    failed: list[str] = []  # days whose own inputs cannot be merged, with the reason
    ledgers = LedgerStore(store, layout)
    queue = QueueStore(store, layout)
    try:
        with scratch("merge") as workdir, contextlib.ExitStack() as spark_run:
            staged = _Staged(workdir, set(days) if days is not None else None)
            staged.memory_limit, staged.threads = settings.memory_limit, settings.threads
            previous, _ = ledgers.load()
            inputs, ledger = _merge_inputs(store, layout, staged, previous)
            # recorded before the ledger moves on, which forgets what the inputs covered: a merge killed before
            # such a day is done leaves it recorded for the next one
            on_store = results.result_objects(store, layout)  # each day's result now
            emptied = _emptied_days(store, layout, previous, ledger, inputs, on_store)
            if emptied:
                queue.add(emptied)
            ledgers.replace(ledger)
            summary.bad_inputs = ledger.in_state("rejected")
            summary.overlapping = ledger.in_state("overlapping")
            summary.reasons = {k: ledger.entries[k].reason for k in summary.bad_inputs + summary.overlapping}
            summary.inputs = ledger.counts()
            recorded = queue.load()[0].days
            emptied |= {d for d in recorded if d not in inputs and _lost_input(store, layout, ledger, d)}
            months: set[tuple[int, int]] = set()  # whose month CSV is composed again (month mode)
            if days is not None:
                wanted = sorted(set(days))
            else:
                outputs = _OnStore.listed(store, layout, settings, on_store)
                changed = {d for d, i in inputs.items() if _changed(store, layout, settings, d, i, outputs)}
                wanted = sorted(changed | recorded | emptied)
                if settings.result_csv == "month" and on_store:  # a month CSV deleted by hand is composed again
                    months |= {(d.year, d.month) for d in on_store} - outputs.month_csvs
                    newest = max(on_store)
                    if settings.result_csv_file and _etag(store, settings.result_csv_file) is None:
                        months.add((newest.year, newest.month))  # and so is the AKS tool's result file
            summary.days = wanted
            if settings.engine == "spark":  # every due day in one Spark run, each then committed as on DuckDB
                staged.spark = spark_run.enter_context(_spark_days(store, settings, layout, wanted, inputs, staged))
            reconciled = False  # some day was: summary.unmatched holds the selectors none of those days matched
            merging = progress.Phase(f"merge {len(wanted)} day(s)", len(wanted))
            for day in wanted:
                merging.tick(str(day))
                day_inputs = inputs.get(day, _DayInputs())
                if not day_inputs.allocations and not day_inputs.units and day not in emptied:
                    _record_empty(store, layout, settings, day, day_inputs)
                    summary.unchanged.append(day)
                    continue
                try:
                    merged, rows, unallocated, stats, unmatched = _merge_day(
                        store, settings, layout, day, day_inputs, staged=staged, ledger=ledger
                    )
                except (InputError, InvariantViolation) as exc:  # this day keeps its last result; the others merge
                    LOG_MERGE.error("day not merged", extra={"day": day.isoformat(), "reason": str(exc)})
                    failed.append(f"{day.isoformat()}: {exc}")
                    continue
                summary.rows += rows
                summary.unallocated.extend(k for k in unallocated if k not in summary.unallocated)
                if unmatched is not None:
                    summary.unmatched = [k for k in (summary.unmatched if reconciled else unmatched) if k in unmatched]
                    reconciled = True
                for name, count in stats.items():
                    summary.stats[name] = summary.stats.get(name, 0) + count
                if merged:
                    summary.merged.append(day)
                    summary.keys.append(layout.result_parquet_key(day))
                    months.add((day.year, day.month))
                else:
                    summary.unchanged.append(day)
            merging.close()
            if settings.result_csv == "month":
                file, limit = settings.result_csv_file, settings.memory_limit
                for written in results.write_month_csvs(
                    store, layout, months, workdir=workdir, file=file, memory_limit=limit, threads=settings.threads
                ):
                    summary.keys.append(written.key)
            else:  # the month CSVs of the merged days, written in month mode, would go stale
                results.remove_month_csvs(store, layout, months)
            _commit(store, layout, staged)
            # a day recorded again while this merge ran leaves the record too: its newer input changed the day's
            # fingerprint, so the next merge takes it as changed anyway
            committed = recorded & {*summary.merged, *summary.unchanged}
            if committed:
                queue.remove(committed)
            if failed:
                merged_days = f" ({len(summary.merged)} other day(s) merged)" if summary.merged else ""
                raise InputError("; ".join(failed) + merged_days)
    except Exception:
        summary.seconds = time.monotonic() - started
        health.record(
            store,
            layout,
            increment=("merge_failures_total",),
            last_merge_time=datetime.now(UTC).isoformat(),
            last_merge_duration_seconds=summary.seconds,
            last_merge_success=False,
            **({"inputs": summary.inputs} if summary.inputs else {}),
        )
        raise
    summary.seconds = time.monotonic() - started
    # a bad input is counted once, when first found, however many merges it stays bad in
    seen = set(health.read(store, layout).get("bad_inputs", []))
    new_bad = len([key for key in summary.bad_inputs if key not in seen])
    health.record(
        store,
        layout,
        increment={"merges_total": 1, "bad_inputs_total": new_bad},
        bad_inputs=summary.bad_inputs,
        inputs=summary.inputs,
        last_merge_time=datetime.now(UTC).isoformat(),
        last_merge_duration_seconds=summary.seconds,
        last_merge_success=True,
        last_merge_rows=summary.rows,
        last_merge_days=[d.isoformat() for d in summary.merged],
        **({"last_bad_inputs": summary.bad_inputs} if summary.bad_inputs else {}),
    )
    if settings.pushgateway_url and summary.merged:
        from kubebill.sinks import metrics

        push = getattr(metrics, "push", None)
        if push is not None:
            try:
                push(store, settings)
            except Exception as exc:  # metrics are best effort: the merge itself succeeded
                LOG_MERGE.warning("pushing metrics failed", extra={"reason": f"{type(exc).__name__}: {exc}"})
    return summary


# The states of an input still there that may give a day less than before: restated (accepted, other days), or
# replaced by another input (a newer run, the same bytes elsewhere, an export of the same account and period).
_COVERS_NO_MORE = frozenset({"accepted", "superseded", "duplicate", "overlapping"})


def _emptied_days(
    store: Store, layout: Layout, previous: Any, ledger: Any, inputs: Mapping[date, Any], on_store: Mapping[date, Any]
) -> set[date]:
    """Days left with no input whose result counts an input that is still there but covers them no more: a bill
    restated without the day's lines, a run superseded by one that has none for it. They are merged again, to a
    result without that money. A day whose inputs were deleted keeps its result (exports expire; results are the
    record), and so does a day whose input turned bad or waits for the rest of its run (see `_merge_day`).
    The candidates are the days the previous ledger's counted inputs covered that have no input now; with no
    previous ledger (deleted, or damaged and read as empty) every day with a result (`on_store`) that has none."""
    if previous.entries:
        counted = _counted(previous)
        candidates = {date.fromisoformat(t) for k, e in previous.entries.items() if k in counted for t in e.days}
    else:
        candidates = set(on_store)
    return {day for day in candidates - set(inputs) if _lost_input(store, layout, ledger, day)}


def _counted(ledger: Any) -> dict[str, str]:
    """Each input that counted, with the etag it counted with: accepted, or rejected since (Ledger.carry_counted)."""
    return {
        k: e.etag if e.state == "accepted" else e.counted
        for k, e in ledger.entries.items()
        if e.state == "accepted" or e.counted
    }


def _lost_input(store: Store, layout: Layout, ledger: Any, day: date) -> bool:
    """Whether the day's result was merged from an input that is still there and gives the day nothing now."""
    state, _ = _read_state(store, layout.state_key(f"merge/{day.isoformat()}.json"))
    for key, _etag in state.get("inputs", []):
        now = ledger.entries.get(key)
        # deleted, bad, ignored or waiting for the rest of its run: the day keeps what it gave
        if now is not None and now.state in _COVERS_NO_MORE and (now.state != "accepted" or str(day) not in now.days):
            return True
    return False


def _record_empty(store: Store, layout: Layout, settings: Settings, day: date, inputs: _DayInputs) -> None:
    """Remember that a day's inputs hold nothing for it (so `merge` with no days does not revisit it)."""
    import json

    from kubebill.errors import PreconditionFailed

    key = layout.state_key(f"merge/{day.isoformat()}.json")
    state, etag = _read_state(store, key)
    fingerprint = inputs.fingerprint(settings)
    if state.get("fingerprint") == fingerprint:
        return
    try:
        store.head(layout.result_parquet_key(day))
        return  # a result exists from earlier inputs: leave it until its day is merged explicitly
    except FileNotFoundError:
        pass
    body = json.dumps({"day": day.isoformat(), "fingerprint": fingerprint, "result_etag": None, "rows": 0})
    try:
        if etag is None:
            store.write(key, body.encode(), if_absent=True)
        else:
            store.write(key, body.encode(), if_match=etag)
    except PreconditionFailed:
        pass  # another merge recorded the day meanwhile


def _changed(
    store: Store, layout: Layout, settings: Settings, day: date, inputs: _DayInputs, outputs: _OnStore
) -> bool:
    """The day's inputs or settings changed since its committed merge, that merge never committed, or an output of
    the day is not the one it wrote: deleted, or replaced by anything but a merge (`outputs`: each day's now). An
    output is derived from inputs still there, so it is written again rather than left missing or foreign."""
    state, _ = _read_state(store, layout.state_key(f"merge/{day.isoformat()}.json"))
    return not _is_current(state, inputs.fingerprint(settings), outputs.day(day))


# ---------------------------------------------------------------------------------------------
# events and timers (what the cloud functions call)
# ---------------------------------------------------------------------------------------------


@dataclass
class HandleOutcome:
    key: str
    decision: str  # merged | unchanged | deferred (recorded for Spark) | waiting-for-manifest | ignored | poison
    days: list[date] = field(default_factory=list)
    rows: int = 0
    reason: str = ""


def _merge_outcome(store: Store, settings: Settings, key: str, days: Sequence[date] | None) -> HandleOutcome:
    if settings.engine == "spark":
        return _defer(store, settings, key, days)
    summary = merge(store, settings, days=days)
    if key in summary.bad_inputs:
        return HandleOutcome(key, "poison", list(summary.days), summary.rows, summary.reasons.get(key, "rejected"))
    decision = "merged" if summary.merged else "unchanged"
    return HandleOutcome(key, decision, list(summary.days), summary.rows)


def _defer(store: Store, settings: Settings, key: str, days: Sequence[date] | None) -> HandleOutcome:
    """The Spark path's event: the ledger scan, then those of `days` (default: every day) whose inputs changed since
    their last merge recorded for the scheduled Spark merge; nothing is merged here."""

    from kubebill.ledger import LedgerStore, QueueStore
    from kubebill.sinks import results

    layout = Layout.from_settings(settings)
    ledgers = LedgerStore(store, layout)
    with scratch("scan") as workdir:
        staged = _Staged(workdir, set(days) if days is not None else None)
        staged.memory_limit, staged.threads = settings.memory_limit, settings.threads
        inputs, ledger = _merge_inputs(store, layout, staged, ledgers.load()[0])
    ledgers.replace(ledger)
    candidates = sorted(set(days)) if days is not None else list(inputs)
    outputs = _OnStore.listed(store, layout, settings, results.result_objects(store, layout))
    wanted = [d for d in candidates if _changed(store, layout, settings, d, inputs.get(d, _DayInputs()), outputs)]
    QueueStore(store, layout).add(wanted)
    entry = ledger.get(key)
    if entry is not None and entry.state == "rejected":
        return HandleOutcome(key, "poison", wanted, reason=entry.reason)
    return HandleOutcome(key, "deferred" if wanted else "unchanged", wanted)


def handle_object_created(store: Store, settings: Settings, key: str) -> HandleOutcome:
    """Route one created key (DESIGN 5): allocations -> its day; billing -> the days it covers; else ignore.

    Keys under the results prefix are ignored without writing anything (no recursion, ever). An input
    that can never be read (bad data, a merge that would not sum) is recorded in health and returned as
    `poison`, so the platform acknowledges it; store outages and other errors raise, so it retries.
    """
    from kubebill import health
    from kubebill.errors import InvariantViolation, StoreError
    from kubebill.layout import Kind, Layout

    layout = Layout.from_settings(settings)
    parsed = layout.parse(key)
    if parsed.kind in (Kind.RESULT, Kind.STATE):
        return HandleOutcome(parsed.key, "ignored", reason=f"under the results prefix {layout.results_prefix}/")
    outcome: HandleOutcome
    try:
        if parsed.kind is Kind.ALLOCATION and parsed.day is not None:
            outcome = _merge_outcome(store, settings, parsed.key, [parsed.day])
        elif parsed.kind is Kind.BILLING:
            from kubebill.billing import route

            found = route(store, layout, parsed.key)
            if not found.ready:
                outcome = HandleOutcome(parsed.key, "waiting-for-manifest", list(found.days), reason=found.reason)
            else:
                # the days whose inputs changed (a bill's lines may start outside its manifest's period); a ready
                # input covering no day still gets its ledger state from this merge
                outcome = _merge_outcome(store, settings, parsed.key, None)
        else:
            reason = (
                "not an allocation key (expected cluster=<c>/year=YYYY/month=MM/day=DD/<source>.parquet)"
                if parsed.key.startswith(layout.allocations_root())
                else f"outside the input prefixes {layout.allocations_prefix}/ and {layout.billing_prefix}/"
            )
            health.record(store, layout, increment=("ignored_events_total",))
            return HandleOutcome(parsed.key, "ignored", reason=reason)
    except StoreError:
        raise
    except (InputError, InvariantViolation) as exc:
        outcome = HandleOutcome(parsed.key, "poison", reason=f"{type(exc).__name__}: {exc}")
    if outcome.decision == "poison":
        health.record(store, layout, increment=("bad_events_total",), last_bad_event=parsed.key)
    return outcome


def catch_up_days(settings: Settings, today: date) -> list[date]:
    """The last KUBEBILL_RESTATE_DAYS days before `today`, plus the whole previous month early in a month."""
    from datetime import timedelta

    days = {today - timedelta(days=n) for n in range(1, settings.restate_days + 1)}
    if today.day <= settings.restate_days:
        last_of_previous = today.replace(day=1) - timedelta(days=1)
        first = last_of_previous.replace(day=1)
        days.update(first + timedelta(days=n) for n in range(last_of_previous.day))
    return sorted(days)


def catch_up(store: Store, settings: Settings, *, today: date | None = None) -> MergeSummary:
    """The timer's re-merge of the last KUBEBILL_RESTATE_DAYS days (and the previous month early in a month);
    with KUBEBILL_ENGINE=spark they are recorded for the Spark merge instead."""
    from kubebill.model import utc_today

    days = catch_up_days(settings, today or utc_today())
    if not days:
        return MergeSummary()
    if settings.engine == "spark":  # the scheduled Spark merge re-merges them
        from kubebill.ledger import QueueStore

        QueueStore(store, Layout.from_settings(settings)).add(days)
        return MergeSummary(days=days, deferred=days)
    return merge(store, settings, days=days)
