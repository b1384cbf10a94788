"""The only module that composes IO and transforms: export, merge, handle_object_created, catch_up.

Each function takes an open Store and the Settings, does one whole job, and returns a small summary
that callers (CLI, cloud function handlers) log. Sections are owned by different parts of the product;
keep each function's body in its own section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from kubebill.errors import InputError
from kubebill.settings import Settings
from kubebill.store.base import Store

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
) -> ExportSummary:
    """Pull each UTC day from the cluster API and write allocations/cluster=…/…/<source>.parquet."""
    raise InputError("export: not built yet")


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
