"""The only module that composes IO and transforms: export, merge, handle_object_created, catch_up.

Each function takes an open Store and the Settings, does one whole job, and returns a small summary
that callers (CLI, cloud function handlers) log. Sections are owned by different parts of the product;
keep each function's body in its own section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, BinaryIO

from kubebill.errors import InputError
from kubebill.settings import Settings
from kubebill.store.base import Store

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
    import tempfile

    import requests

    from kubebill.errors import ConfigError
    from kubebill.layout import Layout
    from kubebill.model import Window
    from kubebill.settings import _cluster
    from kubebill.sources.fetch import fetch_day
    from kubebill.sources.http import HttpOptions
    from kubebill.sources.opencost import Query

    source = source or settings.source
    base_url = url or settings.source_url
    name = cluster or settings.cluster
    if source not in ("opencost", "kubecost", "aks"):
        raise ConfigError(f"--source {source!r}: expected one of opencost, kubecost, aks")
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
    with requests.Session() as session:
        session.headers["User-Agent"] = f"kubebill/{_version()}"
        for day in days:
            if Window.of_day(day).end > now:
                raise InputError(f"{day} is not over yet (UTC); export complete days only")
            tables = fetch_day(
                session, source=source, base_url=base_url, cluster=name, day=day, query=query, options=options
            )
            key = layout.allocation_key(name, day, source)
            with tempfile.TemporaryFile() as spool:
                rows = _write_allocations(tables, spool, what=f"{source} {base_url} {day}")
                spool.seek(0)
                store.write(key, spool)
            summary.days.append(day)
            summary.keys.append(key)
            summary.rows += rows
            if on_day is not None:
                on_day(day, rows, key)
    return summary


def _write_allocations(tables: Iterable[pa.Table], sink: BinaryIO, *, what: str) -> int:
    """Stream ALLOCATION tables into one Parquet file (a row group per request); returns the row count."""
    import pyarrow.parquet as pq

    from kubebill.errors import SourceError
    from kubebill.schema import ALLOCATION

    rows = 0
    with pq.ParquetWriter(sink, ALLOCATION, compression="zstd", write_statistics=True) as writer:
        for table in tables:
            if table.num_rows:
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
                rows += table.num_rows
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
    bad_inputs: list[str] = field(default_factory=list)


def merge(store: Store, settings: Settings, *, days: Sequence[date] | None = None) -> MergeSummary:
    """Reconcile the given UTC days (default: the days whose inputs changed since the last merge)."""
    raise InputError("merge: not built yet")


# ---------------------------------------------------------------------------------------------
# events and timers (what the cloud functions call)
# ---------------------------------------------------------------------------------------------


@dataclass
class HandleOutcome:
    key: str
    decision: str  # merged | unchanged | waiting-for-manifest | ignored | poison
    days: list[date] = field(default_factory=list)
    rows: int = 0
    reason: str = ""


def _merge_outcome(store: Store, settings: Settings, key: str, days: Sequence[date]) -> HandleOutcome:
    summary = merge(store, settings, days=days)
    if key in summary.bad_inputs:
        return HandleOutcome(key, "poison", list(summary.days), summary.rows, "the merge could not read this input")
    decision = "merged" if summary.merged else "unchanged"
    return HandleOutcome(key, decision, list(summary.days), summary.rows)


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
            elif not found.days:
                outcome = HandleOutcome(parsed.key, "unchanged", reason=found.reason or "covers no day")
            else:
                outcome = _merge_outcome(store, settings, parsed.key, sorted(found.days))
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
    """The timer's re-merge of the last KUBEBILL_RESTATE_DAYS days (and the previous month early in a month)."""
    from kubebill.model import utc_today

    days = catch_up_days(settings, today or utc_today())
    if not days:
        return MergeSummary()
    return merge(store, settings, days=days)
